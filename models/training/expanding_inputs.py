"""Prints, one a line, inputs that SentencePiece's nmt_nfkc normalisation rewrites, most of them into text much
longer than the input (Microsoft.ML.Tokenizers 2.0.1 crashed on those), the rest folding full-width forms,
ligatures, combining marks and odd spaces, or deleting control characters: the cases of
Engine.Tests/Fixtures/spm-pieces-expanding.tsv, where make_fixtures.sh pairs each with spm_encode's pieces."""
import sys

runs = {
    "\ufdfa": [1, 2, 10, 100],    # ARABIC LIGATURE SALLALLAHOU ALAYHE WASALLAM: 18 characters under NFKC
    "\u2026": [42, 43, 200],      # HORIZONTAL ELLIPSIS: "..."
    "\ufb03": [50],               # LATIN SMALL LIGATURE FFI
    "\u216b": [50],               # ROMAN NUMERAL TWELVE: "XII"
    "\u337b": [50],               # SQUARE ERA NAME HEISEI
    "\u3396": [50],               # SQUARE ML
    "\ufdfb": [30],               # ARABIC LIGATURE JALLAJALALOUHOU
    "\ufdf0": [50],               # ARABIC LIGATURE SALLA USED AS KORANIC STOP SIGN ISOLATED FORM
    "\u3300": [50],               # SQUARE APAATO
    "\u2474": [50],               # PARENTHESIZED DIGIT ONE: "(1)"
    "\u2153": [40],               # VULGAR FRACTION ONE THIRD
    "\U0001d518": [30],           # MATHEMATICAL FRAKTUR CAPITAL U (a surrogate pair that becomes one letter)
}

mixed = [
    "\ufdfa\ufdfa",
    "He said \ufdfa and left.",
    "Tom bought a new car yesterday, but " + "\ufdfa" * 10,
    "a \ufdfa " * 50,
    "Well\u2026" * 60,
    "Wait\u2026\u2026\u2026 what? The \ufb01ne \ufb02owers \ufb00 \ufb03 \ufb04 \ufb05 \ufb06.",
    "Chapter \u216b and \u2167, \u217b \u2177 \u2160\u2161\u2162.",
    "\uff28\uff45\uff4c\uff4c\uff4f\u3000\uff37\uff4f\uff52\uff4c\uff44\uff01 \uff11\uff12\uff13",
    "\u3000\uff48\uff45\uff4c\uff4c\uff4f\u3000\u3000\uff57\uff4f\uff52\uff4c\uff44\u3000",
    "\u337b \u3396 \ufdfb \ufdf0 \u337f \u3300 \u3231 \u2121 \u2122 \u00bd \u00bc \u33c2 \u3392",
    "\u337b" * 100 + " and then some text.",
    "x\u00b2 H\u2082O \u2460\u2461\u2462 \u2474\u2475 \u249c \u2153\u2154\u215b",
    "e\u0301 a\u0300 n\u0303 o\u0308 A\u030a \u1100\u1161 \u1112\u1161\u11ab",
    "Z\u0335\u0321\u0322\u0348\u034e\u033a\u0320\u035a\u0332\u0326\u032e\u0318\u0312\u034a\u0344\u0309\u0342\u035b\u031aa\u0338l\u0337g\u0336o\u0334",
    "e" + "\u0301" * 60,
    "\U0001f600\ufdfa\U0001f600 \U0001d518\U0001d52b\U0001d526\U0001d520\U0001d52c\U0001d521\U0001d522",
    "  \ufdfa   \ufdfa  ",
    "a\u00a0\u00a0b \u00a0 c",
    "\u3000 \u3000",
    "\u01c4 \u01c5 \u01c6 \u0132 \u0133 \u013f \u0149 \u017f \u1e9b\u0323",
    # Rewritten to nothing: Microsoft.ML.Tokenizers 2.0.1 read an empty rewrite as none and kept the character.
    "Bell\x07 and escape\x1b and\x01 zero\u200bwidth\u200d soft\u00ad hyphen\u2060 \ufeff.",
    "I love \u4e2d\u56fd and \ufdfa\u2026\ufb03\u216b\u337b\u3396\ufdfb\ufdf0 " * 10,
]

lines = [c * n for c, counts in runs.items() for n in counts] + mixed
for line in lines:
    assert "\t" not in line and "\n" not in line and "\r" not in line, repr(line)
sys.stdout.reconfigure(encoding="utf-8", newline="\n")
for line in lines:
    print(line)
