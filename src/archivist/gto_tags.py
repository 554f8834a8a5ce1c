"""GTO's git-tag registry as values: the tag grammar, and what is registered and staged.

Pure: no git, no gto import (the hook path must not pay for pydantic). The adapter
(``retention.plan``) lists the annotated tags and hands them in as ``TagRecord`` values; this
module parses their names with GTO's grammar (``gto/constants.py``) and folds them the
way ``gto show`` does (``gto/base.py``, ``gto/tag.py``):

    NAME@vX.Y.Z[#N]      register a version        NAME@vX.Y.Z!#N   deregister it
    NAME#STAGE#N         assign a stage            NAME#STAGE!#N    unassign it
    NAME@deprecated#N    deprecate the artifact    dir=NAME         NAME in dir/dvc.yaml

A version is active while its latest registration event is not a deregistration (one
never registered is active through its stage events); an artifact is active while its
latest event of any kind is not a deprecation. A stage holds, per artifact, the versions
whose latest assignment to it is newer than any unassignment, newest assignment first,
at most ``versions_per_stage`` of them (GTO's default 1; -1 for all). Lightweight tags
are not GTO events.

This is archivist's only copy of GTO's grammar: release tags (``registration``), the
names and versions ``archivist release`` accepts, and GTO's ``#N`` counter all come from
here. A name GTO refuses (``clf@1.0.0``: no ``v``) is no release anywhere in archivist. A
lightweight tag named as a registration is no GTO event, but archivist errs on the safe
side with it: verify lists it (and fails it, unsigned), retention keeps what it names.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

# gto/constants.py, verbatim where it matters (RE2 is not needed: no nested quantifiers
# over the same characters, and names are short). The one copy of GTO's grammar in
# archivist: release names, stage names and every tag are read with these.
DIRNAME = r"[a-zA-Z0-9-_./]+"
NAME = r"[a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?"
SEMVER = (r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
          r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
          r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
          r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?")
NAME_RE = re.compile(rf"^{NAME}$")  # gto name_re: a stage, or a name without its dir
FULLNAME_RE = re.compile(rf"^(?:{DIRNAME}:)?{NAME}$")  # gto fullname_re: "dir:name"
VERSION_RE = re.compile(rf"^v{SEMVER}$")  # what a registration names: SemVer with a "v"
_FULLNAME_IN_TAG = rf"(?:{DIRNAME}=)?{NAME}"
TAG_RE = re.compile(
    rf"^(?P<artifact>{_FULLNAME_IN_TAG})"
    rf"(?:(?:#(?P<stage>{NAME})|@(?P<version>v{SEMVER}))(?P<cancel>!?)"
    rf"|@(?:(?P<deprecated>deprecated)|(?P<created>created)))"
    rf"(?:#(?P<counter>[0-9]+))?$")

VERSIONS_PER_STAGE = 1  # gto.constants.VERSIONS_PER_STAGE: `gto show`'s default


class Action(enum.Enum):
    """What a GTO tag does (gto.constants.Action)."""

    REGISTER = "register"
    DEREGISTER = "deregister"
    ASSIGN = "assign"
    UNASSIGN = "unassign"
    DEPRECATE = "deprecate"
    CREATE = "create"


@dataclass(frozen=True)
class ParsedTag:
    """A tag name read with GTO's grammar."""

    tag: str
    name: str  # the artifact's registry name, "dir:name" for a nested dvc.yaml
    action: Action
    version: str | None = None  # "v1.2.0" for (de)registrations
    stage: str | None = None  # for (un)assignments
    counter: int | None = None  # the "#N" GTO appends


def tag_to_name(value: str) -> str:
    """GTO spells a nested registry name ``dir:name`` as ``dir=name`` in tags."""
    return value.replace("=", ":")


def name_to_tag(value: str) -> str:
    return value.replace(":", "=")


def parse(tag: str) -> ParsedTag | None:
    """The GTO meaning of a tag name, or None when it is not a GTO tag."""
    match = TAG_RE.match(tag)
    if match is None:
        return None
    counter = int(match["counter"]) if match["counter"] else None
    name = tag_to_name(match["artifact"])
    cancel = match["cancel"] == "!"
    if match["version"]:
        return ParsedTag(tag, name, Action.DEREGISTER if cancel else Action.REGISTER,
                         version=match["version"], counter=counter)
    if match["stage"]:
        return ParsedTag(tag, name, Action.UNASSIGN if cancel else Action.ASSIGN,
                         stage=match["stage"], counter=counter)
    if match["deprecated"]:
        return ParsedTag(tag, name, Action.DEPRECATE, counter=counter)
    return ParsedTag(tag, name, Action.CREATE, counter=counter)


def registration(tag: str) -> tuple[str, str] | None:
    """(registry name, version) when GTO reads ``tag`` as a version registration
    (``NAME@vX.Y.Z``, with or without GTO's ``#N``), else None."""
    parsed = parse(tag)
    if parsed is None or parsed.action is not Action.REGISTER or parsed.version is None:
        return None
    return parsed.name, parsed.version


def next_counter(tags: Iterable[str], name: str) -> int:
    """The ``#N`` GTO gives a new event tag of ``name``: one more than the highest counter
    on any of the artifact's tags (``gto.tag.name_tag``)."""
    highest = 0
    for tag in tags:
        parsed = parse(tag)
        if parsed is not None and parsed.name == name and parsed.counter is not None:
            highest = max(highest, parsed.counter)
    return highest + 1


@dataclass(frozen=True)
class TagRecord:
    """One annotated tag as git lists it."""

    tag: str
    commit: str  # the commit it points to (peeled)
    created: dt.datetime  # tagger date: GTO orders events by it
    tagger: str | None = None  # "Name <email>", for timelines


@dataclass(frozen=True)
class Event:
    """One GTO action, as its tag records it."""

    tag: ParsedTag
    commit: str
    created: dt.datetime
    tagger: str | None = None

    @property
    def order(self) -> tuple[dt.datetime, int, str]:
        # GTO sorts by tagger date alone; its counter breaks ties the way it was written
        return (self.created, self.tag.counter or 0, self.tag.tag)


@dataclass
class VersionState:
    """One version of an artifact in the registry: a SemVer name, or a bare commit."""

    key: str  # "v1.2.0", or the commit for a version known only from stage tags
    commit: str
    registrations: list[Event] = field(default_factory=list)
    deregistrations: list[Event] = field(default_factory=list)
    stage_events: dict[str, list[Event]] = field(default_factory=dict)

    @property
    def registered(self) -> bool:
        """Registered now: its latest (de)registration is a registration."""
        direct = self.registrations + self.deregistrations
        if not direct:
            return False
        return max(direct, key=lambda e: e.order).tag.action is Action.REGISTER

    @property
    def active(self) -> bool:
        """GTO's ``Version.is_active``: not deregistered (stage-only versions are)."""
        if self.registrations or self.deregistrations:
            return self.registered
        return bool(self.stage_events)

    def assigned(self, stage: str) -> Event | None:
        """The assignment that holds ``stage`` now, or None when unassigned since."""
        events = self.stage_events.get(stage, [])
        if not events:
            return None
        latest = max(events, key=lambda e: e.order)
        if latest.tag.action is not Action.ASSIGN:
            return None
        return latest

    def events(self) -> list[Event]:
        return self.registrations + self.deregistrations + [
            e for es in self.stage_events.values() for e in es]


@dataclass
class ArtifactState:
    name: str
    versions: dict[str, VersionState] = field(default_factory=dict)
    deprecations: list[Event] = field(default_factory=list)
    creations: list[Event] = field(default_factory=list)

    @property
    def active(self) -> bool:
        """GTO's ``Artifact.is_active``: its latest event is not a deprecation."""
        events = self.creations + self.deprecations + [
            e for v in self.versions.values() for e in v.events()]
        if not events:
            return False
        return max(events, key=lambda e: e.order).tag.action is not Action.DEPRECATE

    def _version_at(self, commit: str) -> VersionState:
        """The version a stage tag on ``commit`` refers to (GTO: the one registered there,
        else a version named by the commit)."""
        for version in self.versions.values():
            if version.commit == commit and (version.registrations or version.deregistrations):
                return version
        return self.versions.setdefault(commit, VersionState(key=commit, commit=commit))


@dataclass(frozen=True)
class StageUse:
    """A version that a stage holds now."""

    name: str  # registry name
    stage: str
    version: str  # "v1.2.0" or the commit
    commit: str
    tag: str  # the assignment tag that holds it

    def reason(self) -> str:
        """How a plan says why it is kept: ``stage prod via clf#prod#1``."""
        return f"stage {self.stage} via {self.tag}"


@dataclass(frozen=True)
class Registration:
    """A version registered now (not deregistered, its artifact not deprecated)."""

    name: str
    version: str
    commit: str
    tag: str


@dataclass
class Registry:
    artifacts: dict[str, ArtifactState] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)  # every GTO event, oldest first

    def registrations(self) -> list[Registration]:
        """Versions that take the releases class: registered, artifact not deprecated."""
        out = []
        for art in self.artifacts.values():
            if not art.active:
                continue
            for version in art.versions.values():
                if version.registered:
                    latest = max(version.registrations, key=lambda e: e.order)
                    out.append(Registration(art.name, version.key, version.commit,
                                            latest.tag.tag))
        return out

    def in_use(self, versions_per_stage: int = VERSIONS_PER_STAGE) -> list[StageUse]:
        """Every version a stage holds now, by GTO's rules (``gto show``, sorted by time)."""
        out: list[StageUse] = []
        for art in self.artifacts.values():
            if not art.active:
                continue
            held: list[tuple[Event, VersionState]] = []
            for version in art.versions.values():
                if not version.active:
                    continue  # GTO drops a deregistered version from every stage
                for stage in version.stage_events:
                    event = version.assigned(stage)
                    if event is not None:
                        held.append((event, version))
            held.sort(key=lambda pair: pair[0].order, reverse=True)
            per_stage: dict[str, list[str]] = {}
            for event, version in held:
                stage = event.tag.stage
                assert stage is not None
                taken = per_stage.setdefault(stage, [])
                if versions_per_stage > -1 and len(taken) >= versions_per_stage:
                    continue
                if version.key in taken:
                    continue
                taken.append(version.key)
                out.append(StageUse(art.name, stage, version.key, version.commit,
                                    event.tag.tag))
        return out


def fold(records: Iterable[TagRecord]) -> Registry:
    """The registry that a set of annotated tags describes (other tags are ignored)."""
    events = []
    for record in records:
        parsed = parse(record.tag)
        if parsed is not None:
            events.append(Event(parsed, record.commit, record.created, record.tagger))
    events.sort(key=lambda e: e.order)
    registry = Registry(events=events)
    for event in events:
        art = registry.artifacts.setdefault(event.tag.name, ArtifactState(event.tag.name))
        action = event.tag.action
        if action is Action.DEPRECATE:
            art.deprecations.append(event)
        elif action is Action.CREATE:
            art.creations.append(event)
        elif action in (Action.REGISTER, Action.DEREGISTER):
            assert event.tag.version is not None
            version = art.versions.get(event.tag.version)
            if version is None:
                version = art.versions[event.tag.version] = VersionState(
                    key=event.tag.version, commit=event.commit)
            (version.registrations if action is Action.REGISTER
             else version.deregistrations).append(event)
        else:
            assert event.tag.stage is not None
            version = art._version_at(event.commit)
            version.stage_events.setdefault(event.tag.stage, []).append(event)
    return registry
