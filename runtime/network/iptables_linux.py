"""Applying ``rules`` to the kernel with python-iptables (libiptc, the legacy xtables backend).

libiptc works on a whole-table snapshot: read the table, change it in memory, commit it back in
one replace. A commit based on a stale snapshot either fails with EAGAIN (the rule count
changed) or silently undoes someone else's change (it did not), so every change here is a
transaction that (1) holds this process's lock, because python-iptables caches one handle per
table for the whole process, (2) holds the xtables lock file the iptables command also takes,
(3) re-reads the table, applies its change, commits, and retries from scratch on EAGAIN.

Each transaction opens the table in the namespace of the calling thread.
"""

from __future__ import annotations

import errno as errno_module
import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import iptc

from runtime.network import rules
from runtime.network.errors import IptablesError
from runtime.network.ondisk import flocked
from runtime.network.rules import Rule

log = logging.getLogger(__name__)

XTABLES_LOCK = Path("/run/xtables.lock")
COMMIT_ATTEMPTS = 5
PROCESS_LOCK = threading.RLock()  # shared with anything else in this process using python-iptables

T = TypeVar("T")


def _last_errno() -> int | None:
    try:
        return int(iptc.ip4tc._get_errno_loc()[0]) or None
    except Exception:  # noqa: BLE001 - private helper of python-iptables; errno is best effort
        return None


def _to_iptc(spec: Rule) -> iptc.Rule:
    rule = iptc.Rule()
    if spec.protocol:
        rule.protocol = spec.protocol
    if spec.src:
        rule.src = spec.src
    if spec.dst:
        rule.dst = spec.dst
    if spec.out_interface:
        rule.out_interface = spec.out_interface
    if spec.dport:
        match = rule.create_match(spec.protocol)
        match.dport = str(spec.dport)
    if spec.dst_type:
        match = rule.create_match("addrtype")
        match.dst_type = spec.dst_type
    if spec.ctstate:
        match = rule.create_match("conntrack")
        match.ctstate = spec.ctstate
    if spec.comment:
        match = rule.create_match("comment")
        match.comment = spec.comment
    target = rule.create_target(spec.target)
    if spec.to_destination:
        target.to_destination = spec.to_destination
    return rule


def _comment_of(rule: iptc.Rule) -> str:
    for match in rule.matches:
        if match.name == "comment":
            return str(match.comment or "").strip('"')
    return ""


class Iptables:
    """Transactions on the iptables tables of the calling thread's network namespace."""

    def transaction(self, table_name: str, op: str, change: Callable[[iptc.Table], T]) -> T:
        with PROCESS_LOCK, flocked(XTABLES_LOCK, op, error=IptablesError):
            for attempt in range(1, COMMIT_ATTEMPTS + 1):
                try:
                    table = iptc.Table(table_name, autocommit=False)
                    table.refresh()  # a fresh snapshot; autocommit is off, so nothing stale is committed
                    result = change(table)
                    table.commit()
                    table.refresh()
                    return result
                except iptc.IPTCError as e:
                    code = _last_errno()
                    retry = code == errno_module.EAGAIN or "temporarily unavailable" in str(e)
                    try:
                        iptc.Table(table_name, autocommit=False).refresh()  # drop pending changes
                    except iptc.IPTCError:
                        pass
                    if retry and attempt < COMMIT_ATTEMPTS:
                        time.sleep(0.01 * attempt)
                        continue
                    raise IptablesError(f"{op} (table {table_name})", code, detail=str(e)) from e
                finally:
                    iptc.Table(table_name).autocommit = True
        raise AssertionError("unreachable")

    def read(self, table_name: str, op: str, look: Callable[[iptc.Table], T]) -> T:
        """Read-only access to a fresh snapshot (no xtables lock: nothing is committed)."""
        with PROCESS_LOCK:
            try:
                table = iptc.Table(table_name, autocommit=False)
                table.refresh()
                return look(table)
            except iptc.IPTCError as e:
                raise IptablesError(f"{op} (table {table_name})", _last_errno(), detail=str(e)) from e
            finally:
                iptc.Table(table_name).autocommit = True

    # building blocks, each run inside a transaction ------------------------------------------

    @staticmethod
    def ensure_chain(table: iptc.Table, chain: str) -> iptc.Chain:
        if not table.is_chain(chain):
            table.create_chain(chain)
        return iptc.Chain(table, chain)

    @staticmethod
    def set_chain_rules(table: iptc.Table, chain: str, specs: Iterable[Rule]) -> None:
        """Make ``chain`` hold exactly ``specs`` in order (flush and refill, one commit)."""
        target = Iptables.ensure_chain(table, chain)
        target.flush()
        for spec in specs:
            target.append_rule(_to_iptc(spec))

    @staticmethod
    def ensure_jump_first(table: iptc.Table, chain: str, spec: Rule) -> None:
        """Exactly one jump from built-in ``chain`` to ``spec.target``, at the top, with our addresses.

        A jump whose addresses differ (one an older version installed) is replaced.
        """
        builtin = iptc.Chain(table, chain)
        existing = [r for r in builtin.rules if r.target.name == spec.target]
        wanted = _to_iptc(spec)
        if (
            len(existing) == 1
            and builtin.rules
            and builtin.rules[0].target.name == spec.target
            and (existing[0].src, existing[0].dst) == (wanted.src, wanted.dst)
        ):
            return
        for rule in existing:
            builtin.delete_rule(rule)
        builtin.insert_rule(_to_iptc(spec))

    @staticmethod
    def remove_jumps(table: iptc.Table, chain: str, target_chain: str) -> int:
        builtin = iptc.Chain(table, chain)
        doomed = [r for r in builtin.rules if r.target.name == target_chain]
        for rule in doomed:
            builtin.delete_rule(rule)
        return len(doomed)

    @staticmethod
    def delete_chain(table: iptc.Table, chain: str) -> bool:
        if not table.is_chain(chain):
            return False
        iptc.Chain(table, chain).flush()
        table.delete_chain(chain)
        return True

    @staticmethod
    def append_rules(table: iptc.Table, chain: str, specs: Iterable[Rule]) -> None:
        target = Iptables.ensure_chain(table, chain)
        for spec in specs:
            target.append_rule(_to_iptc(spec))

    @staticmethod
    def delete_commented(table: iptc.Table, chain: str, comment: str) -> int:
        """Delete every rule of ``chain`` whose comment is ``comment``; how many went."""
        if not table.is_chain(chain):
            return 0
        target = iptc.Chain(table, chain)
        doomed = [r for r in target.rules if _comment_of(r) == comment]
        for rule in doomed:
            target.delete_rule(rule)
        return len(doomed)

    @staticmethod
    def comments_in(table: iptc.Table, chain: str) -> list[str]:
        if not table.is_chain(chain):
            return []
        return [_comment_of(r) for r in iptc.Chain(table, chain).rules]

    @staticmethod
    def rule_count(table: iptc.Table, chain: str) -> int:
        return len(iptc.Chain(table, chain).rules) if table.is_chain(chain) else -1

    @staticmethod
    def jump_count(table: iptc.Table, chain: str, target_chain: str) -> int:
        return sum(1 for r in iptc.Chain(table, chain).rules if r.target.name == target_chain)


class IptablesPacketFilter:
    """The pod network's rules as whole operations: each one table transaction per table."""

    def __init__(self, iptables: Iptables | None = None) -> None:
        self.iptables = iptables or Iptables()

    def install_node_rules(self, postrouting: list[Rule], forward: list[Rule]) -> None:
        """Our chains with exactly this content, and one jump to each at the top of its chain."""
        ipt = self.iptables

        def nat(table: iptc.Table) -> None:
            ipt.ensure_chain(table, rules.HOSTPORTS_CHAIN)
            ipt.set_chain_rules(table, rules.POSTROUTING_CHAIN, postrouting)
            for jump in rules.jumps():
                if jump.table == rules.NAT:
                    ipt.ensure_jump_first(table, jump.chain, jump.rule)

        def filter_(table: iptc.Table) -> None:
            ipt.set_chain_rules(table, rules.FORWARD_CHAIN, forward)
            for jump in rules.jumps():
                if jump.table == rules.FILTER:
                    ipt.ensure_jump_first(table, jump.chain, jump.rule)

        ipt.transaction(rules.NAT, "install pod network nat rules", nat)
        ipt.transaction(rules.FILTER, "install pod network forward rules", filter_)

    def remove_node_rules(self) -> None:
        ipt = self.iptables

        def remove(table_name: str) -> Callable[[iptc.Table], None]:
            def change(table: iptc.Table) -> None:
                for jump in rules.jumps():
                    if jump.table == table_name:
                        ipt.remove_jumps(table, jump.chain, jump.rule.target)
                for owner, chain in rules.OUR_CHAINS:
                    if owner == table_name:
                        ipt.delete_chain(table, chain)

            return change

        ipt.transaction(rules.NAT, "remove pod network nat rules", remove(rules.NAT))
        ipt.transaction(rules.FILTER, "remove pod network forward rules", remove(rules.FILTER))

    def node_rules_present(self) -> bool:
        ipt = self.iptables

        def look(table: iptc.Table) -> bool:
            return (
                ipt.rule_count(table, rules.POSTROUTING_CHAIN) > 0
                and ipt.jump_count(table, "POSTROUTING", rules.POSTROUTING_CHAIN) > 0
            )

        return self.iptables.read(rules.NAT, "check pod network rules", look)

    def add_sandbox_rules(self, sandbox_id: str, specs: list[Rule]) -> None:
        self.iptables.transaction(
            rules.NAT,
            f"add hostPort rules of {sandbox_id}",
            lambda table: self.iptables.append_rules(table, rules.HOSTPORTS_CHAIN, specs),
        )

    def remove_sandbox_rules(self, sandbox_id: str) -> int:
        comment = rules.sandbox_comment(sandbox_id)
        return self.iptables.transaction(
            rules.NAT,
            f"remove hostPort rules of {sandbox_id}",
            lambda table: self.iptables.delete_commented(table, rules.HOSTPORTS_CHAIN, comment),
        )
