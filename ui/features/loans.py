"""Loaned cameras: the loans window, a loan's report and the crime evaluation."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from ui.features.signed_in import SignedIn
from ui.loans.dashboard import LoansWindow
from ui.loans.evaluation import EvaluationWindow
from ui.loans.report_dialog import ReportDialog
from vms.loans.loans import Deployment, Loans, Premises


class LoanFeature:
    def __init__(self, ctx: SignedIn) -> None:
        self.ctx = ctx
        ctx.window.open_loans.triggered.connect(self.show_loans)
        ctx.window.open_evaluation.triggered.connect(lambda: self.show_evaluation(None))

    def show_loans(self) -> None:
        ctx = self.ctx

        def read() -> tuple[Loans, list[tuple[int, str]]]:
            return Loans(ctx.profile, ctx.session), [(d.id, d.name) for d in ctx.svc.devices()]

        def show(got: tuple[Loans, list[tuple[int, str]]]) -> None:
            loans, cams = got
            win = LoansWindow(loans, cams, parent=ctx.window)
            win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            win.destroyed.connect(lambda _o=None: loans.close())
            win.report_requested.connect(lambda did: self.show_report(did, win))
            win.evaluation_requested.connect(self.show_evaluation)
            win.show()
        ctx.after(read, show, "the loans")

    def show_report(self, deployment_id: int, parent: QWidget | None = None) -> None:
        triage = self.ctx.calls.triage
        if triage is None:
            return
        dlg = ReportDialog(triage, deployment_id, parent or self.ctx.window)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()

    def show_evaluation(self, premises_id: int | None) -> None:
        """Crime around a loan's premises; the crime files' folder is the ``crimes_dir`` setting."""
        ctx = self.ctx

        def read() -> tuple[list[Premises], list[Deployment], str]:
            loans = Loans(ctx.profile, ctx.session)
            try:
                return (loans.all_premises(), loans.deployments(include_removed=True),
                        ctx.access.accounts.settings().value("crimes_dir"))
            finally:
                loans.close()

        def show(got: tuple[list[Premises], list[Deployment], str]) -> None:
            win = EvaluationWindow(got[2], got[0], got[1], ctx.window)
            win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            if premises_id is not None:
                win.choose_premises(premises_id)
            win.show()
        ctx.after(read, show, "the evaluation")
