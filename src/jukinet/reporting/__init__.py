"""The monthly safety report for the advisory committee and external auditors (R25).

Computed only from verified audit bundles (``bundles``), so that anyone holding the
same bundles gets the same figures (``figures``), the same CSV files (``csv_files``)
and the same unsigned PDF (``pdf``). docs/report.md says what each figure means.
"""
