"""The national node (指定情報処理機関): every resident's identity information (R1), the code
registry and pools (R6), the signed directory."""
