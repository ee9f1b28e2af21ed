"""Every bad circuit a user can write, with where it is refused and what the message says.

Shared data, not tests: ``test_errors.py`` checks each case through the
Python API (its type, exact location, words), ``test_cli.py`` what the
command line adds to it (exit 2, one located line, no traceback).
"""

from __future__ import annotations

import textwrap

import pytest

from gatekit import GraphError, LoadError

FILE = "g.yaml"


def bad(case: str, text: str, where: str, *words: str, error: type = GraphError):
    """One bad circuit: the error it raises, at ``where`` (``"LINE:COLUMN"``), saying ``words``."""
    line, column = map(int, where.split(":"))
    return pytest.param(textwrap.dedent(text), error, line, column, words, id=case)


BAD_CIRCUITS = [
    # -- not well-formed YAML, or no document at all --------------------------
    bad(
        "yaml-unclosed-list",
        """\
        inputs:
          x: [1, 2
        outputs: [x]
        """,
        "3:8",
        "invalid YAML",
        "flow sequence",
        "did not find expected ',' or ']'",
        error=LoadError,
    ),
    bad(
        "yaml-mapping-in-value",
        """\
        inputs:
          x: 1: 2
        outputs: [x]
        """,
        "2:7",
        "invalid YAML",
        "mapping values are not allowed",
        error=LoadError,
    ),
    bad("yaml-tab-indent", "inputs:\n\tx: 1\noutputs: [x]\n", "2:1", "invalid YAML", error=LoadError),
    bad(
        "two-documents",
        """\
        inputs: {x: 1}
        outputs: [x]
        ---
        inputs: {y: 2}
        """,
        "3:1",
        "invalid YAML",
        "single document",
        error=LoadError,
    ),
    bad("empty-file", "", "1:1", "the file is empty", error=LoadError),
    bad("only-comments", "# nothing here\n", "1:1", "the file is empty", error=LoadError),
    # -- the top level ----------------------------------------------------------
    bad("top-level-list", "- x\n- y\n", "1:1", "a circuit file must be a mapping, got a list"),
    bad("top-level-text", "just text\n", "1:1", "must be a mapping, got the text 'just text'"),
    bad(
        "unknown-top-level-key",
        """\
        inputs: {x: 1}
        outputs: [x]
        output: [x]
        """,
        "3:1",
        "unknown top-level key 'output'",
        "expected one of: gatekit, name, doc, requires, seed, imports, modules, inputs, params, gates, "
        "outputs, train",
    ),
    bad(
        "format-version-2",
        """\
        gatekit: 2
        inputs: {x: 1}
        outputs: [x]
        """,
        "1:10",
        "unsupported format version 2",
        "reads version 1",
    ),
    bad(
        "format-version-text",
        """\
        gatekit: one
        inputs: {x: 1}
        outputs: [x]
        """,
        "1:10",
        "the format version (gatekit:) must be a number",
        "got the text 'one'",
    ),
    bad(
        "section-not-a-mapping",
        """\
        inputs: {x: 1}
        gates: [y]
        outputs: [x]
        """,
        "2:8",
        "'gates:' must be a mapping, got a list",
    ),
    # -- duplicate keys: an error, never a silent overwrite ---------------------
    bad(
        "duplicate-top-level-key",
        """\
        inputs: {x: 1}
        inputs: {y: 2}
        outputs: [x]
        """,
        "2:1",
        "duplicate key 'inputs' in a circuit file",
        "first at line 1, column 1",
    ),
    bad(
        "duplicate-input",
        """\
        inputs:
          x: 1
          x: 2
        outputs: [x]
        """,
        "3:3",
        "duplicate key 'x' in 'inputs:'",
        "first at line 2, column 3",
    ),
    bad(
        "duplicate-gate",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: neg, in: [x]}
          y: {gate: exp, in: [x]}
        outputs: [y]
        """,
        "4:3",
        "duplicate key 'y' in 'gates:'",
        "first at line 3, column 3",
    ),
    bad(
        "duplicate-key-in-gate",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: neg, in: [x], gate: exp}
        outputs: [y]
        """,
        "3:27",
        "duplicate key 'gate' in gate 'y'",
        "first at line 3, column 7",
    ),
    bad(
        "duplicate-attr",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: leaky_relu, in: [x], attrs: {slope: 0.1, slope: 0.2}}
        outputs: [y]
        """,
        "3:54",
        "duplicate key 'slope' in 'attrs:' of gate 'y'",
        "first at line 3, column 42",
    ),
    # -- names ------------------------------------------------------------------
    bad(
        "name-in-inputs-and-gates",
        """\
        inputs: {x: 1}
        gates:
          x: {gate: neg, in: [x]}
        outputs: [x]
        """,
        "3:3",
        "'x' is defined twice",
        "first at line 1, column 10",
    ),
    bad(
        "name-in-inputs-and-params",
        """\
        inputs: {x: 1}
        params:
          x: 2
        outputs: [x]
        """,
        "3:3",
        "'x' is defined twice",
        "first at line 1, column 10",
    ),
    bad(
        "name-starts-with-digit",
        """\
        inputs:
          1abc: 1
        outputs: [x]
        """,
        "2:3",
        "invalid name '1abc' in inputs",
        "starts with a letter or _",
    ),
    bad(
        "name-with-dash",
        """\
        inputs: {x: 1}
        gates:
          a-b: {gate: neg, in: [x]}
        outputs: [x]
        """,
        "3:3",
        "invalid name 'a-b' in gates",
        "only letters, digits and _",
    ),
    bad(
        "key-not-text",
        "inputs: {[1]: 1}\noutputs: [x]\n",
        "1:10",
        "keys of 'inputs:' must be text, got a list",
    ),
    # -- gates: their keys, their gate, their inputs, their attrs ----------------
    bad(
        "unknown-key-in-gate",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: neg, in: [x], bogus: 1}
        outputs: [y]
        """,
        "3:27",
        "unknown key 'bogus' in gate 'y'",
        "expected one of: gate, in, attrs",
    ),
    bad(
        "gate-missing-gate",
        """\
        inputs: {x: 1}
        gates:
          y: {in: [x]}
        outputs: [y]
        """,
        "3:3",
        "gate 'y' has no 'gate:'",
    ),
    bad(
        "gate-missing-in",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: neg}
        outputs: [y]
        """,
        "3:3",
        "gate 'y' has no 'in:'",
    ),
    bad(
        "gate-not-a-mapping",
        """\
        inputs: {x: 1}
        gates:
          y: [neg, x]
        outputs: [y]
        """,
        "3:6",
        "gate 'y' must be a mapping, got a list",
    ),
    bad(
        "in-not-a-list",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: neg, in: x}
        outputs: [y]
        """,
        "3:22",
        "'in:' of gate 'y' must be a list, got the text 'x'",
    ),
    bad(
        "unknown-gate-close-to-mul",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: mull, in: [x, x]}
        outputs: [y]
        """,
        "3:13",
        "unknown gate 'mull'",
        "(did you mean 'mul' or 'matmul'?)",
    ),
    bad(
        "fixed-arity-too-many",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: exp, in: [x, x]}
        outputs: [y]
        """,
        "3:22",
        "gate 'y' (exp) takes 1 input, got 2",
    ),
    bad(
        "fixed-arity-too-few",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: sub, in: [x]}
        outputs: [y]
        """,
        "3:22",
        "gate 'y' (sub) takes 2 inputs, got 1",
    ),
    bad(
        "variadic-one-input",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: add, in: [x]}
        outputs: [y]
        """,
        "3:22",
        "gate 'y' (add) takes 2 or more inputs, got 1",
    ),
    bad(
        "unknown-attr",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: leaky_relu, in: [x], attrs: {slop: 0.1}}
        outputs: [y]
        """,
        "3:42",
        "gate leaky_relu has no attribute 'slop'",
        "(accepted: slope)",
    ),
    bad(
        "invalid-attr-value",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: leaky_relu, in: [x], attrs: {slope: abc}}
        outputs: [y]
        """,
        "3:49",
        "attribute 'slope' of gate 'y' (leaky_relu)",
        "expected a number, got the text 'abc'",
    ),
    bad(
        "attr-value-boolean",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: leaky_relu, in: [x], attrs: {slope: true}}
        outputs: [y]
        """,
        "3:49",
        "attribute 'slope' of gate 'y' (leaky_relu)",
        "expected a number, got a boolean (True)",
    ),
    bad(
        "attr-value-null",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: leaky_relu, in: [x], attrs: {slope: null}}
        outputs: [y]
        """,
        "3:49",
        "attribute 'slope' of gate 'y' (leaky_relu)",
        "expected a number, got null",
    ),
    bad(
        "attr-value-list",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: leaky_relu, in: [x], attrs: {slope: [1, 2]}}
        outputs: [y]
        """,
        "3:49",
        "attribute 'slope' of gate 'y' (leaky_relu)",
        "expected a number, got a list",
    ),
    bad(
        "attrs-on-gate-without-attrs",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: exp, in: [x], attrs: {slope: 1}}
        outputs: [y]
        """,
        "3:35",
        "gate exp has no attribute 'slope'",
        "(accepted: none)",
    ),
    # -- references ---------------------------------------------------------------
    bad(
        "dangling-reference",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: mul, in: [x, z]}
        outputs: [y]
        """,
        "3:26",
        "gate 'y' takes 'z' as an input",
        "no input, param or gate has that name",
    ),
    bad(
        "dangling-reference-close-name",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: neg, in: [xx]}
        outputs: [y]
        """,
        "3:23",
        "gate 'y' takes 'xx' as an input",
        "(did you mean 'x'?)",
    ),
    bad(
        "bad-output-reference",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: neg, in: [x]}
        outputs: [yy]
        """,
        "4:11",
        "output 'yy' is not a node of this circuit",
        "(did you mean 'y'?)",
    ),
    bad("missing-outputs", "inputs:\n  x: 1\n", "1:1", "the circuit has no 'outputs:' list"),
    bad("empty-outputs", "inputs:\n  x: 1\noutputs: []\n", "3:10", "'outputs:' is empty"),
    bad("outputs-not-a-list", "inputs:\n  x: 1\noutputs: x\n", "3:10", "'outputs:' must be a list"),
    # -- leaf values ----------------------------------------------------------------
    bad(
        "leaf-text",
        "inputs:\n  x: abc\noutputs: [x]\n",
        "2:6",
        "input 'x' must be a number, got the text 'abc'",
    ),
    bad("leaf-quoted-number", "inputs:\n  x: '1.5'\noutputs: [x]\n", "2:6", "got the text '1.5'"),
    bad(
        "leaf-true",
        "inputs:\n  x: true\noutputs: [x]\n",
        "2:6",
        "input 'x' must be a number, got a boolean (true)",
    ),
    bad("leaf-null", "inputs:\n  x: null\noutputs: [x]\n", "2:6", "input 'x' must be a number, got null"),
    bad("leaf-missing-value", "inputs:\n  x:\noutputs: [x]\n", "2:5", "input 'x' must be a number, got null"),
    bad(
        "leaf-mapping",
        "inputs:\n  x: {a: 1}\noutputs: [x]\n",
        "2:6",
        "input 'x' must be a number or a list (an initializer is for a param)",
    ),
    # -- params declared by initializer ---------------------------------------------------
    bad(
        "init-missing",
        "params:\n  w: {shape: [2]}\noutputs: [w]\n",
        "2:6",
        "the initializer of param 'w' has no 'init:' (one of zeros, ones, constant, uniform, normal, xavier",
    ),
    bad(
        "init-unknown",
        "params:\n  w: {init: gaussian, shape: [2]}\noutputs: [w]\n",
        "2:13",
        "unknown initializer 'gaussian' for param 'w' (expected one of: zeros, ones, constant, uniform",
    ),
    bad(
        "init-unknown-setting",
        "params:\n  w: {init: normal, stdev: 0.1}\noutputs: [w]\n",
        "2:21",
        "unknown setting 'stdev' of initializer 'normal' (expected one of: init, shape, mean, std)",
    ),
    bad(
        "init-bad-shape",
        "params:\n  w: {init: zeros, shape: [2, 0.5]}\noutputs: [w]\n",
        "2:27",
        "the shape of param 'w' must list whole numbers of at least 1",
    ),
    bad(
        "init-setting-not-a-number",
        "params:\n  w: {init: uniform, low: lots}\noutputs: [w]\n",
        "2:27",
        "'low' of the initializer of param 'w' must be a number, got the text 'lots'",
    ),
    bad(
        "init-setting-infinite",
        "params:\n  w: {init: constant, value: .inf}\noutputs: [w]\n",
        "2:30",
        "'value' of the initializer of param 'w' must be finite",
    ),
    bad(
        "init-too-large",
        "params:\n  w: {init: zeros, shape: [100000, 100000]}\noutputs: [w]\n",
        "2:27",
        "param 'w': its element count exceeds the limit of 100,000,000",
    ),
    bad(
        "seed-fraction", "seed: 1.5\ninputs: {x: 1}\noutputs: [x]\n", "1:7", "the seed must be a whole number"
    ),
    bad(
        "seed-negative",
        "seed: -1\ninputs: {x: 1}\noutputs: [x]\n",
        "1:7",
        "the seed must be a whole number from 0",
    ),
    bad(
        "train-not-a-mapping",
        "train: fast\ninputs: {x: 1}\noutputs: [x]\n",
        "1:8",
        "'train:' must be a mapping",
    ),
    bad(
        "param-text",
        "params:\n  w: abc\noutputs: [w]\n",
        "2:6",
        "param 'w' must be a number, got the text 'abc'",
    ),
    bad(
        "item-not-a-number",
        "inputs:\n  x: [1, two]\noutputs: [x]\n",
        "2:10",
        "each item of input 'x' must be a number, got the text 'two'",
    ),
    bad(
        "ragged-rows",
        "inputs:\n  x: [[1, 2], [3]]\noutputs: [x]\n",
        "2:15",
        "input 'x' is a ragged list",
        "expected a list of 2 items",
    ),
    bad(
        "ragged-number-then-list",
        "inputs:\n  x: [1, [2]]\noutputs: [x]\n",
        "2:10",
        "input 'x' is a ragged list",
        "expected a number, got a list",
    ),
    bad(
        "ragged-list-then-number",
        "inputs:\n  x: [[1], 2]\noutputs: [x]\n",
        "2:12",
        "input 'x' is a ragged list",
        "got a number",
    ),
    bad("empty-list", "inputs:\n  x: []\noutputs: [x]\n", "2:6", "input 'x' contains an empty list"),
    bad(
        "empty-inner-lists",
        "inputs:\n  x: [[], []]\noutputs: [x]\n",
        "2:7",
        "input 'x' contains an empty list",
    ),
    # -- numbers too large for a float: an error, not a silent inf -------------------
    bad(
        "integer-of-401-digits",
        "inputs:\n  x: 1" + "0" * 400 + "\noutputs: [x]\n",
        "2:6",
        "the number 100000000000000000000000000000... (401 characters) is too large for a float",
    ),
    bad(
        "integer-of-5000-digits",  # beyond int()'s 4300-digit limit for text
        "inputs:\n  x: " + "9" * 5000 + "\noutputs: [x]\n",
        "2:6",
        "(5000 characters) is too large for a float",
    ),
    bad(
        "exponent-overflow",
        "inputs:\n  x: 1e400\noutputs: [x]\n",
        "2:6",
        "the number 1e400 is too large for a float",
    ),
    bad(
        "float-overflow",
        "inputs:\n  x: -1.5e+400\noutputs: [x]\n",
        "2:6",
        "the number -1.5e+400 is too large for a float",
    ),
    bad(
        "constant-overflow",
        """\
        inputs: {x: 1}
        gates:
          y: {gate: mul, in: [x, 1e999]}
        outputs: [y]
        """,
        "3:26",
        "the number 1e999 is too large for a float",
    ),
    bad(
        "a-nul-on-line-five",
        "inputs:\n  x: 1\n\n\n  y: a\x00b\noutputs: [x]\n",
        "5:7",
        "invalid YAML: the character U+0000 is not allowed: YAML text holds no control characters but tabs",
        error=LoadError,
    ),
    # -- YAML 1.1's number surprises: refused, saying how to write the number ------------
    bad(
        "base-60-number",
        "inputs: {x: 1:30}\noutputs: [x]\n",
        "1:13",
        "'1:30' is a base-60 (sexagesimal) number to YAML 1.1, which reads it as 90: write 90, "
        "or quote it if it is text",
    ),
    bad(
        "base-60-float",
        "inputs: {x: -1:30.5}\noutputs: [x]\n",
        "1:13",
        "'-1:30.5' is a base-60 (sexagesimal) number to YAML 1.1, which reads it as -90.5: write -90.5",
    ),
    bad(
        "a-long-base-60-number",  # PyYAML's own conversion of this is quadratic: minutes
        "inputs: {x: 1" + ":1" * 300_000 + "}\noutputs: [x]\n",
        "1:13",
        "'1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:... (600001 characters)' is a base-60 "
        "(sexagesimal) number "
        "to YAML 1.1: write the number in decimal, or quote it if it is text",
    ),
    bad(
        "octal-number",
        "inputs: {x: 1}\ngates:\n  y: {gate: mul, in: [x, 017]}\noutputs: [y]\n",
        "3:26",
        "'017' is an octal number to YAML 1.1, which reads it as 15: write 15, or 17 without the "
        "leading 0, or quote it if it is text",
    ),
    bad(
        "hexadecimal-number",
        "inputs: {x: 0x1F}\noutputs: [x]\n",
        "1:13",
        "'0x1F' is a hexadecimal number to YAML 1.1, which reads it as 31: write 31",
    ),
    bad("binary-number", "inputs: {x: -0b11}\noutputs: [x]\n", "1:13", "which reads it as -3: write -3"),
    # -- what a file says is quoted short and escaped; what goes into a command, checked -----
    bad(
        "requires-an-option",
        "requires: [--extra-index-url https://example.com/simple]\ninputs: {x: 1}\noutputs: [x]\n",
        "1:12",
        "'--extra-index-url https://example.com/simple' is not a distribution name",
        "letters, digits, and '.', '_' or '-' between them (for example gatekit-activations)",
    ),
    bad(
        "requires-empty",
        'requires: [""]\ninputs: {x: 1}\noutputs: [x]\n',
        "1:12",
        "'' is not a distribution name",
    ),
    bad(
        "requires-escape",
        'requires: ["a\\e[31mred"]\ninputs: {x: 1}\noutputs: [x]\n',
        "1:12",
        "'a\\x1b[31mred' is not a distribution name",
    ),
    bad(
        "name-escape",
        'name: "\\e[2J"\ninputs: {x: 1}\noutputs: [x]\n',
        "1:7",
        "name must be one line of printable",
    ),
    bad("name-two-lines", 'name: "a\\nb"\ninputs: {x: 1}\noutputs: [x]\n', "1:7", "name must be one line"),
    bad(
        "doc-bell",
        'doc: "ding\\a"\ninputs: {x: 1}\noutputs: [x]\n',
        "1:6",
        "doc may not hold control characters",
    ),
    bad(
        "name-too-long",
        "inputs: {" + "x" * 300 + ": 1}\noutputs: [x]\n",
        "1:10",
        "invalid name 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx... (300 characters)' in inputs: "
        "a name has at most 200 characters, this one 300",
    ),
    bad(
        "gate-type-not-a-name",
        "inputs: {x: 1}\ngates:\n  y: {gate: 'mul mul', in: [x, x]}\noutputs: [y]\n",
        "3:13",
        "'gate:' of gate 'y' must be a name, got 'mul mul': a name starts with a letter",
    ),
    bad(
        "input-not-a-name",
        "inputs: {x: 1}\ngates:\n  y: {gate: neg, in: ['" + "x " * 1000 + "']}\noutputs: [y]\n",
        "3:23",
        "an input of gate 'y' must be a name, got 'x x x x x x x x x x x x x x x x x x x x x x x x x ... "
        "(2000 characters)'",
    ),
    bad(
        "output-not-a-name",
        "inputs: {x: 1}\noutputs: ['x + 1']\n",
        "2:11",
        "an output must be a name, got 'x + 1'",
    ),
    bad(
        "attr-key-not-a-name",
        "inputs: {x: 1}\ngates:\n  y: {gate: leaky_relu, in: [x], attrs: {'slope!': 0.1}}\noutputs: [y]\n",
        "3:42",
        "invalid attribute name 'slope!' in gate 'y'",
    ),
    bad(
        "a-whole-text-file-as-a-circuit",
        "a long line of text " * 50_000 + "\n",
        "1:1",
        "a circuit file must be a mapping, got the text 'a long line of text a long line of text a long lin"
        "... (999999 characters)'",
    ),
    bad(
        "tagged-float-not-a-number",
        "inputs:\n  x: !!float abc\noutputs: [x]\n",
        "2:6",
        "'abc' is tagged as a number but is not a valid float",
    ),
    # -- YAML features a circuit file refuses: tags, aliases -------------------------
    bad(
        "python-object-tag",
        "inputs:\n  x: !!python/object:os.system ['echo']\noutputs: [x]\n",
        "2:6",
        "YAML tag 'tag:yaml.org,2002:python/object:os.system' is not allowed",
        error=LoadError,
    ),
    bad(
        "custom-tag",
        "inputs:\n  x: !foo 1\noutputs: [x]\n",
        "2:6",
        "YAML tag '!foo' is not allowed",
        error=LoadError,
    ),
    bad(
        "custom-tag-on-root",
        "!foo {inputs: {x: 1}, outputs: [x]}\n",
        "1:1",
        "YAML tag '!foo' is not allowed",
        error=LoadError,
    ),
    bad(
        "custom-tag-on-key",
        "inputs:\n  !foo x: 1\noutputs: [x]\n",
        "2:3",
        "YAML tag '!foo' is not allowed",
        error=LoadError,
    ),
    bad(
        "alias-as-value",  # points at the key whose value is the alias
        """\
        inputs:
          x: &v 1
          y: *v
        outputs: [x]
        """,
        "3:3",
        "YAML aliases (*name) are not allowed",
        error=LoadError,
    ),
    bad(
        "alias-in-list",  # points at the list holding the alias
        """\
        inputs:
          x: &n 1
        gates:
          y: {gate: mul, in: [x, *n]}
        outputs: [y]
        """,
        "4:22",
        "YAML aliases (*name) are not allowed",
        error=LoadError,
    ),
]


#: A few cases run in a real process as well (``test_cli.py``): no traceback, whatever the stage.
IN_A_PROCESS = ("yaml-unclosed-list", "unknown-gate-close-to-mul", "dangling-reference", "alias-in-list")


def by_id(*names: str) -> list[object]:
    """The cases named ``names``, in that order."""
    found = {case.id: case for case in BAD_CIRCUITS}
    return [found[name] for name in names]
