"""The municipality node (市区町村): the full resident register and its window."""
