"""The CS's pure rules: the 本人確認情報's 36 items, how a register event becomes them, the notice kinds and the
checks a notice passes before it is sent (seed III(2))."""
