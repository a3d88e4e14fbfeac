"""How long each text dondoc keeps may be, in characters.

The tables declare their columns with these, and the registers, directive files and
submissions check their text against them: PostgreSQL refuses a longer value and SQLite
stores it, so the files are refused before either database is asked, and both agree.
"""

CODE = 32  # a unit's or a requirement's code, a directive's number
NAME = 200  # a unit's or a person's name
KIND = 32  # a unit's kind
EMAIL = 200
USERNAME = 64
DIRECTIVE_CODE = 100
SYMBOL = 64  # a directive's symbol (ký hiệu)
EVIDENCE = 2000  # a submission's evidence link
DISPATCH = CODE + 1 + SYMBOL  # a revising dispatch's number and symbol, "125/UBND-VHTT"
