"""``jukinet report safety``: the monthly safety report for the committee and auditors (R25).

On the national node (``--home``) the command exports the node's own audit bundle
into OUT/bundles/, makes the report from it and the bundles given (each prefecture's
and municipality's, exported there with ``jukinet audit export``), signs the PDF
with the node's report key and audits it. Anywhere else (an auditor's machine) it
makes the same figures and files from the bundles alone, the PDF unsigned.
"""

from __future__ import annotations

import getpass
import shutil
from pathlib import Path

import typer

from jukinet.cli._common import console, fail, handle_errors, state
from jukinet.errors import JukinetError

app = typer.Typer(no_args_is_help=True, help="Reports for the advisory committee (R25).")


def _national_home() -> bool:
    from jukinet import config
    from jukinet.errors import ConfigurationError

    try:
        return config.load(state.home).kind == "national"
    except ConfigurationError:
        return False


@app.command("safety")
@handle_errors
def safety(
    month: str = typer.Option(..., "--month", help="The month, YYYY-MM (Japan time)."),
    bundle_dirs: list[Path] = typer.Option(
        [], "--bundles", help="An audit bundle (jukinet audit export); give one per node."
    ),
    out: Path = typer.Option(..., "--out", help="An empty folder for the report's files."),
) -> None:
    """Provisions, refusals, IDS alerts, emergency orders, cosignature gaps and operators
    without current training, from verified audit bundles: report.pdf, CSV, manifest."""
    from jukinet.audit import bundle, checkpoints
    from jukinet.audit import log as audit
    from jukinet.reporting import pdf
    from jukinet.reporting.model import Month
    from jukinet.reporting.safety import write_report

    wanted = Month.parse(month)
    if out.exists() and any(out.iterdir()):
        raise fail(f"{out} is not empty: write the report into a new folder.")
    paths = list(bundle_dirs)
    signer = None
    if _national_home():
        from jukinet.nodes.national.store import open_store

        signer = pdf.load_signer(state.home)
        store = open_store(state.home)
        try:
            own = out / "bundles" / store.node_id.replace(":", "_")
            with store.transaction() as conn:
                made = bundle.export(
                    conn, store.key, checkpoints.origin("national", store.code), own
                )
                store.audit(conn, audit.Draft(f"cli:{getpass.getuser()}", "audit.export",
                                              "audit log", detail=f"bundle of {made.size} "
                                              f"entries to {own}"))  # fmt: skip
            paths.insert(0, own)
            try:
                written = write_report(paths, wanted, out, signer)
            except JukinetError:
                shutil.rmtree(out / "bundles")  # the folder is as empty as it was
                raise
            detail = f"month {wanted}: {len(paths)} bundles, written to {out}"
            store.audit_alone(audit.Draft(f"cli:{getpass.getuser()}", "report.safety",
                                          str(wanted), detail=detail))  # fmt: skip
        finally:
            store.close()
    else:
        if not paths:
            raise fail("Give the audit bundles with --bundles (or run on the national node).")
        written = write_report(paths, wanted, out, None)
    f = written.figures
    console.print(f"Safety report of {wanted} written to {out}: {', '.join(written.files)}.")
    console.print(
        f"{len(f.sources)} bundles verified; {sum(p.calls for p in f.provisions)} provision "
        f"calls, {sum(r.count for r in f.refusals)} refusals, {len(f.alerts)} IDS alerts, "
        f"{len(f.orders)} emergency order entries, {len(f.gaps)} cosignature gaps, "
        f"{len(f.untrained)} operators without current training."
    )
    if not written.signed:
        console.print(
            "report.pdf is not signed (only the national node signs it); its first bytes and "
            "the CSV files are what the signed report holds if manifest.json's digests match."
        )
