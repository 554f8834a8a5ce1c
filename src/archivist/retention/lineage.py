"""Lineage: what each version was built from, and the rule that keeps it with what it made.

Pure: no git, no DVC, no clock. ``history.read_locks`` hands in every state of every
``dvc.lock`` on the governed branch; the spans say which version was current when.

A version of a stage output was built from what the ``dvc.lock`` of a commit where it was
current records for its stage: each dependency's path and hash, the params values, the
command. A dependency is a *version* of an artifact (path + hash), often an older one
than the current. It resolves to the versions DVC tracks in this repository:

- the artifact's version with that hash (an earlier stage's output, a ``.dvc`` dataset);
- else, when the path is an artifact but no version has that hash (a lock written by
  another DVC, a stale lock), or is a file inside a tracked folder, or a folder holding
  tracked artifacts: the version(s) current at that commit. Keeping more is the safe side;
- else nothing: a file git tracks (code, params), or one outside the repository.

The rule (``propagate``), for deletion safety, only ever keeps more:

    every input of a version is kept at least as available as the most demanding version
    built from it, transitively: "active" (in the active remote) before "archive" (in
    the archive remote) before "gone" (due for disposal, or disposed).

So an input due for archiving stays active while a version built from it is current,
in use, held where it is active, restored, or still in its active window; an input due
for disposal stays while anything built from it is kept anywhere. A lifted version's
state stays what it is (its own dates say it); its action becomes ``keep``, its reason
names the version it was kept for and why that one is kept, and ``kept_for`` says it for
machines. What cannot be lifted (an input already only in the archive while a version
built from it is active, an input disposed of) is a warning: the pipeline of that version
is not whole.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import posixpath
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from archivist.dvcfiles import DVC_LOCK, DVC_YAML, LockedPath, LockedStage, Version
from archivist.history import LockAt, Span
from archivist.retention.decide import InputOf, Location, PlanItem

Node = tuple[str, str]  # (artifact path, digest): one version
How = Literal["exact", "at-build", "inside", "holds", "untracked"]


@dataclass(frozen=True)
class Input:
    """One dependency of a build, and the tracked versions it resolves to."""

    path: str
    version: Version | None  # as the lock records it
    nodes: tuple[Node, ...]  # () when DVC tracks nothing there (git, outside)
    # exact: that version; at-build: the artifact's version current at the build's commit
    # (the lock's hash is none of its versions); inside: the tracked folder it lies in;
    # holds: the tracked artifacts inside this folder; untracked: none
    how: How


@dataclass(frozen=True)
class Build:
    """How one version of a stage output was made, as a ``dvc.lock`` records it."""

    path: str
    version: Version
    stage: str
    cmd: str
    lock: str
    commit: str  # the first commit (of the version's current stretch) whose lock says so
    position: int | None
    inputs: tuple[Input, ...]
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass
class Graph:
    """Every version of a stage output on the branch, and its builds (several when its
    lock changed while it stayed current: each is a way it was made)."""

    builds: dict[Node, list[Build]] = field(default_factory=dict)
    # the spans the inputs were resolved against: a build read later (``build_from``)
    # resolves against the same versions
    spans: Sequence[Span] = ()

    def inputs(self, node: Node) -> list[Node]:
        """The tracked versions ``node`` was built from, over all its builds."""
        return list(dict.fromkeys(n for b in self.builds.get(node, ())
                                  for i in b.inputs for n in i.nodes))

    def build_at(self, node: Node, position: int | None) -> Build | None:
        """The build of ``node`` recorded last at or before ``position`` (any: the
        latest), else its first."""
        builds = self.builds.get(node)
        if not builds:
            return None
        if position is None:
            return builds[-1]
        before = [b for b in builds if b.position is None or b.position <= position]
        return before[-1] if before else builds[0]


# ---------------------------------------------------------------- the graph


class _Coverage:
    """Which version of each path was current at a first-parent position."""

    def __init__(self, spans: Iterable[Span]) -> None:
        self.spans: dict[str, list[Span]] = {}
        self.nodes: set[Node] = set()
        for span in spans:
            self.spans.setdefault(span.path, []).append(span)
            self.nodes.add((span.path, span.version.digest))
        self.paths = sorted(self.spans)
        # one path's spans never overlap: the one covering a position is found by bisect
        self.starts = {path: [s.since_position for s in group]
                       for path, group in self.spans.items()
                       if all(s.since_position is not None for s in group)}
        self._memo: dict[tuple[LockedPath, int | None], Input] = {}

    def at(self, path: str, position: int | None) -> list[Node]:
        starts = self.starts.get(path)
        group = self.spans.get(path, ())
        if position is not None and starts is not None:
            i = bisect.bisect_right(starts, position) - 1  # type: ignore[arg-type]
            span = group[i] if i >= 0 else None
            if span is None or (span.until_position is not None
                                and position >= span.until_position):
                return []
            return [(path, span.version.digest)]
        out = []
        for span in group:
            if position is None or span.since_position is None or (
                    span.since_position <= position
                    and (span.until_position is None or position < span.until_position)):
                out.append((path, span.version.digest))
        return list(dict.fromkeys(out))

    def inside(self, path: str) -> list[str]:
        """Tracked paths inside folder ``path``."""
        prefix = path + "/"
        start = bisect.bisect_left(self.paths, prefix)
        out = []
        for candidate in self.paths[start:]:
            if not candidate.startswith(prefix):
                break
            out.append(candidate)
        return out

    def resolve(self, dep: LockedPath, position: int | None) -> Input:
        found = self._memo.get((dep, position))
        if found is None:
            found = self._memo[(dep, position)] = self._resolve(dep, position)
        return found

    def _resolve(self, dep: LockedPath, position: int | None) -> Input:
        digest = dep.version.digest if dep.version is not None else None
        if digest is not None and (dep.path, digest) in self.nodes:
            return Input(dep.path, dep.version, ((dep.path, digest),), "exact")
        if dep.path in self.spans:
            return Input(dep.path, dep.version, tuple(self.at(dep.path, position)),
                         "at-build")
        parent = posixpath.dirname(dep.path)
        while parent:
            if parent in self.spans:
                return Input(dep.path, dep.version, tuple(self.at(parent, position)),
                             "inside")
            parent = posixpath.dirname(parent)
        inner = [n for p in self.inside(dep.path) for n in self.at(p, position)]
        if inner:
            return Input(dep.path, dep.version, tuple(inner), "holds")
        return Input(dep.path, dep.version, (), "untracked")


def _in_effect(locks: Sequence[LockAt], starts: list[int] | None, since: int | None,
               until: int | None) -> Sequence[LockAt]:
    """The states of one lock file during [since, until): the one in force at ``since``
    and each written before ``until``. ``starts``: their positions (history order,
    sorted); None when one is unknown: then all of them (keeps more)."""
    if since is None or starts is None:
        return locks
    first = bisect.bisect_right(starts, since)
    end = len(locks) if until is None else bisect.bisect_left(starts, until)
    return locks[max(first - 1, 0):end]


def build_graph(spans: Sequence[Span], locks: Sequence[LockAt]) -> Graph:
    """The builds of every stage output version in ``spans``, from the lock states."""
    cover = _Coverage(spans)
    by_lock: dict[str, list[LockAt]] = {}
    for at in locks:
        by_lock.setdefault(at.lock, []).append(at)
    starts = {lock: None if any(a.position is None for a in group)
              else [a.position for a in group if a.position is not None]
              for lock, group in by_lock.items()}
    graph = Graph(spans=spans)
    for span in spans:
        artifact = span.artifact
        if artifact.stage is None or posixpath.basename(artifact.declared_in) != DVC_YAML:
            continue
        lock = posixpath.join(posixpath.dirname(artifact.declared_in), DVC_LOCK)
        node = (span.path, span.version.digest)
        seen = {(b.stage, b.cmd, b.inputs, repr(b.params))
                for b in graph.builds.get(node, ())}
        for at in _in_effect(by_lock.get(lock, []), starts.get(lock), span.since_position,
                             span.until_position):
            stage = next((s for s in at.stages if s.name == artifact.stage), None)
            if stage is None or not any(
                    o.path == span.path and o.version is not None
                    and o.version.digest == span.version.digest for o in stage.outs):
                continue
            position = at.position
            if position is None or (span.since_position is not None
                                    and position < span.since_position):
                position = span.since_position
            inputs = tuple(cover.resolve(dep, position) for dep in stage.deps)
            key = (stage.name, stage.cmd, inputs, repr(stage.params))
            if key in seen:
                continue
            seen.add(key)
            commit = at.commit if at.position is None or span.since_position is None or \
                at.position >= span.since_position else span.since_commit
            graph.builds.setdefault(node, []).append(Build(
                path=span.path, version=span.version, stage=stage.name, cmd=stage.cmd,
                lock=lock, commit=commit, position=position, inputs=inputs,
                params=stage.params))
    return graph


def build_from(graph: Graph, stage: LockedStage, path: str, version: Version,
               lock: str, commit: str, position: int | None) -> Build:
    """The build one lock's ``stage`` records for ``path`` (a revision the graph does not
    know: off the governed branch), its inputs resolved against the graph's spans."""
    cover = _Coverage(graph.spans)
    return Build(path=path, version=version, stage=stage.name, cmd=stage.cmd, lock=lock,
                 commit=commit, position=position, params=stage.params,
                 inputs=tuple(cover.resolve(dep, position) for dep in stage.deps))


# ---------------------------------------------------------------- the rule

_ACTIVE, _ARCHIVE, _GONE = 2, 1, 0
_NEEDS: dict[int, Location] = {_ACTIVE: "active", _ARCHIVE: "archive"}


def demand(item: PlanItem) -> int:
    """Where a version's own needs keep it: 2 active, 1 archive, 0 nowhere."""
    if item.state == "disposed" or item.action == "dispose":
        return _GONE
    if item.current or item.state == "in-use":
        return _ACTIVE
    if item.action == "archive" or item.location != "active":
        return _ARCHIVE
    return _ACTIVE


def _until(item: PlanItem) -> dt.date | None:
    """How long ``item`` keeps its demand: None for ever (current, in use, an open
    hold) or unknown (a version moving today)."""
    if item.current or item.state == "in-use" or item.action != "keep":
        return None
    return item.due


def _rank(level: int, until: dt.date | None) -> tuple[int, dt.date]:
    return level, until or dt.date.max


def short(version: str) -> str:
    """``md5:1f3870be274f`` (a folder's keeps ``.dir``): versions in reasons."""
    digest = version.removeprefix("md5:")
    suffix = ".dir" if digest.endswith(".dir") else ""
    return f"md5:{digest.removesuffix('.dir')[:12]}{suffix}"


def why_kept(item: PlanItem) -> str:
    """The root of a lineage reason: why the version built from the input is kept."""
    if item.release:
        return f"release {item.release}"
    if item.stage:
        return f"in use: {item.stage}"
    if item.current:
        return "current"
    if item.hold:
        return f"held: {item.hold}"
    if item.state == "restored" and item.until:
        return f"restored until {item.until}"
    if item.action == "archive":
        return "to be archived"
    place = "active" if item.location == "active" else "archived"
    return f"{place} until {item.due}" if item.due else place


def propagate(items: Sequence[PlanItem], graph: Graph,
              ) -> tuple[list[PlanItem], list[str]]:
    """``items`` with every input kept as available as the most demanding version built
    from it (transitively), and warnings for inputs that cannot be (see the module).

    Only ever keeps more: an action becomes ``keep``, never the reverse."""
    by_node: dict[Node, PlanItem] = {(i.path, i.digest): i for i in items}
    # effective (level, until) per version, the version whose own needs set it, and the
    # consumer it came through
    eff: dict[Node, tuple[int, dt.date | None]] = {
        n: (demand(i), _until(i)) for n, i in by_node.items()}
    via: dict[Node, Node] = {}
    work = deque(sorted(n for n in by_node if n in graph.builds))
    steps = 0
    limit = (len(by_node) + 1) * 3 * max(1, len(by_node))  # levels x untils: finite
    while work and steps < limit:
        steps += 1
        consumer = work.popleft()
        level, until = eff[consumer]
        if level == _GONE:
            continue
        for dep in graph.inputs(consumer):
            if dep not in eff or dep == consumer:
                continue
            if _rank(level, until) > _rank(*eff[dep]):
                eff[dep] = (level, until)
                via[dep] = consumer
                if dep in graph.builds:
                    work.append(dep)
    out: list[PlanItem] = []
    warnings: list[str] = []
    for item in items:
        node = (item.path, item.digest)
        if node not in via:
            out.append(item)
            continue
        chain = _chain(node, via)
        root = by_node[chain[-1]]
        level, until = eff[node]
        kept_for = InputOf(chain=tuple((p, f"md5:{d}") for p, d in chain), why=why_kept(root),
                           needs=_NEEDS[level], until=until)
        text = "input of " + ", an input of ".join(f"{p} {short('md5:' + d)}" for p, d in chain)
        text += f" ({kept_for.why})"
        own = demand(item)
        if own >= level:
            out.append(item)
            continue
        if item.state == "disposed":
            warnings.append(f"{item.path} {short(item.version)} was disposed of, but "
                            f"{text} is kept: that version cannot be reproduced")
            out.append(item)
            continue
        if level == _ACTIVE and item.action == "keep" and item.location != "active":
            warnings.append(f"{item.path} {short(item.version)} is only in the archive, "
                            f"but it is an {text}, which is active: bring it back with "
                            f"`archivist restore {chain[-1][0]} --with-inputs`")
            out.append(dataclasses.replace(
                item, kept_for=kept_for,
                reason=f"{item.reason}; needed active: {text}"))
            continue
        if item.action == "keep":  # kept already, where it must be
            out.append(item)
            continue
        out.append(dataclasses.replace(
            item, action="keep", due=until, kept_for=kept_for,
            reason=f"{item.reason}; kept: {text}"))
    return out, warnings


def _chain(node: Node, via: Mapping[Node, Node]) -> list[Node]:
    """The consumers from ``node``'s direct one to the version whose own needs count."""
    chain = []
    seen = {node}
    current = node
    while current in via:
        current = via[current]
        if current in seen:
            break
        seen.add(current)
        chain.append(current)
    return chain


# ---------------------------------------------------------------- the tree of one version


@dataclass
class TreeNode:
    """One version in a lineage tree, with what it was built from."""

    path: str
    version: Version | None
    how: How | Literal["root"]
    item: PlanItem | None = None  # its plan item: state, action, where it is
    build: Build | None = None
    children: list[TreeNode] = field(default_factory=list)
    repeated: bool = False  # shown above already: not expanded again
    # a dependency whose hash is no version on the branch: the tracked versions it keeps
    stands_for: tuple[Node, ...] = ()

    @property
    def tracked(self) -> bool:
        return self.how != "untracked"

    def walk(self) -> Iterable[TreeNode]:
        yield self
        for child in self.children:
            yield from child.walk()


def tree(graph: Graph, items: Iterable[PlanItem], root: Node, version: Version,
         position: int | None = None, build: Build | None = None) -> TreeNode:
    """The lineage of version ``root`` as a tree (each version expanded once).

    ``position``: the commit to read its build at (``--rev``); ``build``: one read
    directly from that commit's lock (a revision off the governed branch)."""
    by_node = {(i.path, i.digest): i for i in items}
    expanded: set[Node] = set()

    def grow(node: Node, version: Version | None, how: Any, position: int | None,
             given: Build | None = None) -> TreeNode:
        here = TreeNode(node[0], version, how, item=by_node.get(node))
        if node in expanded:
            here.repeated = True
            return here
        expanded.add(node)
        here.build = given or graph.build_at(node, position)
        if here.build is None:
            return here
        for dep in here.build.inputs:
            if dep.how != "exact":  # shown as the lock records it, with what it keeps
                here.children.append(TreeNode(dep.path, dep.version, dep.how,
                                              stands_for=dep.nodes))
                continue
            for child in dep.nodes:
                here.children.append(grow(child, dep.version, dep.how,
                                          here.build.position))
        return here

    return grow(root, version, "root", position, build)


def inputs_of(graph: Graph, node: Node) -> list[Node]:
    """Every tracked version ``node`` was built from, transitively (any build), nearest
    first; ``node`` itself is not included."""
    seen: dict[Node, None] = {}
    work = deque(graph.inputs(node))
    while work:
        current = work.popleft()
        if current in seen or current == node:
            continue
        seen[current] = None
        work.extend(graph.inputs(current))
    return list(seen)
