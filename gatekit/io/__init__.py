"""Files in and out: data files read as leaf values, results written, every write atomic."""
