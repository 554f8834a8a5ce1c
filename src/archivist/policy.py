"""Load and validate ``archivist.yaml``, the policy reviewed like code.

Every key is checked: an unknown one is an error naming the file, its line, and the
nearest known spelling. The result is a tree of frozen records (``frozen``: dataclasses
without their import cost on the hook path); nothing here touches
git or DVC. Tag ``pattern:`` constraints are RE2 expressions (``google-re2``): matching
takes linear time, so no value can make the hook hang; what RE2 cannot compile
(backreferences, lookaround) is refused here, at load. Dates and durations are bounded
(see ``dates``); hold paths are normalised and hold versions must be full hashes.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from archivist import dates, yamlload
from archivist.errors import ConfigError
from archivist.frozen import field, frozen
from archivist.globs import glob_match
from archivist.yamlload import LinedDict, LinedList

POLICY_FILE = "archivist.yaml"
SUPPORTED_VERSIONS = (1,)
VALUE_TYPES = ("string", "integer", "number", "boolean", "date", "email", "list")
SIGNING_METHODS = ("sigstore", "key", "certificate")
DVC_FIELDS = ("desc", "type", "labels")  # output fields DVC keeps beside ``meta``

_FULL_HASH = re.compile(r"(?:md5:)?([0-9a-f]{32}(?:\.dir)?)")


@frozen
class Pattern:
    """A ``pattern:`` constraint: an RE2 expression, searched in time linear in the value."""

    pattern: str  # as written in the policy
    compiled: Any = field(repr=False, compare=False)

    def search(self, text: str) -> bool:
        """True when the expression matches somewhere in ``text`` (as ``re.search``)."""
        return self.compiled.search(text) is not None


@frozen
class Constraint:
    """What one required tag must hold. ``{}`` means: present and not empty."""

    key: str
    line: int
    pattern: Pattern | None = None
    enum: tuple[Any, ...] | None = None
    type: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    hint: str | None = None


@frozen
class Rule:
    """One ``tags:`` entry: which artifacts it covers and what they must carry."""

    index: int
    line: int
    paths: tuple[str, ...]
    types: tuple[str, ...]
    require: tuple[Constraint, ...]
    exclude: tuple[str, ...] = ()  # globs of paths the rule leaves out (``data/README.md``)

    @property
    def label(self) -> str:
        """How messages name the rule: its path globs, else its types."""
        if self.paths:
            return ", ".join(self.paths)
        return "type " + ", ".join(self.types)

    def excludes(self, path: str) -> bool:
        return any(glob_match(p, path) for p in self.exclude)

    def matches(self, path: str, type_: str | None) -> bool:
        if self.exclude and self.excludes(path):
            return False
        if self.paths and not any(glob_match(p, path) for p in self.paths):
            return False
        return not (self.types and (type_ or "") not in self.types)

    def covers_path(self, path: str) -> bool:
        """True when the rule's globs cover ``path`` (types aside): for require-dvc."""
        return bool(self.paths) and any(glob_match(p, path) for p in self.paths) and \
            not (self.exclude and self.excludes(path))


@frozen
class RetentionClass:
    name: str
    active_days: int
    archive_days: int | None  # None: kept in the archive forever
    line: int
    basis: str | None = None  # why this long: the law or contract the record cites


@frozen
class Hold:
    """A retention hold. ``path`` is normalised (``./models/a.bin`` and ``models/a.bin/`` are
    ``models/a.bin``): an artifact path, a folder (covers what is below it) or a glob.
    ``version`` is a full ``md5:<32 hex>[.dir]`` label, or None for every version."""

    path: str
    reason: str
    until: dt.date | None
    version: str | None
    line: int

    def covers(self, path: str) -> bool:
        """True when the hold's path names ``path``, a folder above it, or a glob over it."""
        return path == self.path or path.startswith(self.path + "/") or \
            glob_match(self.path, path)

    def applies(self, path: str, on: dt.date) -> bool:
        return self.covers(path) and (self.until is None or on <= self.until)


@frozen
class Retention:
    default: str
    classes: Mapping[str, RetentionClass]
    releases: str | None
    holds: tuple[Hold, ...]
    lineage: bool = True  # a kept version keeps what it was built from


@frozen
class Identity:
    """One ``signing.identities`` entry: who may sign, and under which root.

    A keyless entry names Fulcio's OIDC ``issuer`` and may add ``claims`` (Fulcio's
    certificate extensions: repository, workflow, ref, event; exact values). A
    certificate entry is bound to one of ``certificate_roots`` by ``root`` (its file) or
    ``root_sha256`` (a certificate's fingerprint); its ``issuer``, optional, is then only
    a name the issuing CA must carry. An unbound entry judges certificates only when the
    policy lists a single root.
    """

    issuer: str | None
    identity: re.Pattern[str]
    line: int
    root: str | None = None
    root_sha256: str | None = None  # lowercase hex, no colons
    claims: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (claim, accepted values)

    @property
    def bound(self) -> bool:
        """Whether the entry names its root: a certificate-only entry."""
        return self.root is not None or self.root_sha256 is not None

    def where(self) -> str:
        return f"the signing.identities entry at line {self.line}" if self.line \
            else "a signing.identities entry"


@frozen
class Signing:
    method: str
    required_for: str | None
    identities: tuple[Identity, ...]
    public_keys: tuple[str, ...]
    certificate_roots: tuple[str, ...]
    trust_config: str | None
    since: dt.date | None = None  # release tags made before it are legacy (unsigned, adopted)


@frozen
class SharedRepository:
    """Another repository that uses the same DVC remotes: read only, never changed."""

    url: str  # anything `git fetch` accepts; a relative path is relative to the repository
    branch: str
    line: int


@frozen
class Remotes:
    active: str | None
    archive: str | None
    shared_with: tuple[SharedRepository, ...] = ()

    def remote_of(self, role: str, own: str | None = None, *,
                  default: str | None = None) -> str | None:
        """The DVC remote behind a plan location or ledger place ``role``.

        ``active``: the output's own ``remote:`` (``own``) when it has one, else the
        policy's ``active``, else ``default`` (DVC's ``core.remote``, when the caller read
        it); ``archive``: the policy's ``archive``, for every output. None when nothing
        names it, or ``role`` is no role (a ledger event file names DVC remotes itself).
        """
        if role == "active":
            return own or self.active or default
        if role == "archive":
            return self.archive
        return None


#: The actions ``authority.may`` grants; ``policy`` is a commit that changes the policy or
#: the signers file.
AUTHORITY_ACTIONS = ("archive", "restore", "dispose", "release", "policy")


@frozen
class Permission:
    """Who may do one action: any principal of ``roles``; ``approvals`` distinct principals
    of those roles must approve the exact plan first (0: none needed)."""

    action: str
    roles: tuple[str, ...]
    approvals: int
    line: int


@frozen
class Authority:
    """Who may do what. ``signers`` is a git SSH allowed-signers file (repository path)."""

    signers: str
    roles: Mapping[str, tuple[str, ...]]  # role -> principals, as the signers file names them
    may: Mapping[str, Permission]  # action -> permission; an action not listed: nobody
    line: int

    def roles_of(self, principal: str) -> tuple[str, ...]:
        return tuple(role for role, people in self.roles.items() if principal in people)

    def allows(self, action: str, principal: str) -> bool:
        permission = self.may.get(action)
        return permission is not None and any(
            principal in self.roles.get(role, ()) for role in permission.roles)


@frozen
class Policy:
    """The whole validated policy; ``source`` is where it was read from."""

    source: str
    version: int
    branch: str | None
    remotes: Remotes
    rules: tuple[Rule, ...]
    retention: Retention | None
    signing: Signing | None
    raw: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)
    authority: Authority | None = None  # None: nothing is enforced (the audit says so)

    def rules_for(self, path: str, type_: str | None) -> list[Rule]:
        return [r for r in self.rules if r.matches(path, type_)]

    def retention_class(self, name: str) -> RetentionClass:
        if self.retention is None or name not in self.retention.classes:
            known = ", ".join(self.retention.classes) if self.retention else "none"
            raise ConfigError(f"{self.source}: unknown retention class {name!r}",
                              f"known classes: {known}")
        return self.retention.classes[name]


# ---------------------------------------------------------------- validation helpers


class _Reader:
    """Validation state for one policy file: produces errors naming file and line."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, line: int, message: str, hint: str | None = None) -> ConfigError:
        where = f"{self.source}:{line}" if line else self.source
        return ConfigError(f"{where}: {message}", hint)

    def mapping(self, value: Any, what: str, line: int) -> LinedDict:
        if value is None:
            empty = LinedDict()
            empty.line = line
            return empty
        if not isinstance(value, dict):
            raise self.fail(line, f"{what} must be a mapping, not {_kind(value)}")
        return value  # type: ignore[return-value]

    def sequence(self, value: Any, what: str, line: int) -> LinedList:
        if value is None:
            empty = LinedList()
            empty.line = line
            return empty
        if not isinstance(value, list):
            raise self.fail(line, f"{what} must be a list, not {_kind(value)}")
        return value  # type: ignore[return-value]

    def known_keys(self, data: LinedDict, allowed: Sequence[str], what: str) -> None:
        for key in data:
            if key not in allowed:
                import difflib  # only for a misspelt key: the hook path never pays for it

                near = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
                hint = f"did you mean {near[0]!r}?" if near else "known keys: " + ", ".join(
                    allowed)
                raise self.fail(data.line_of(key), f"unknown key {key!r} in {what}", hint)

    def string(self, value: Any, what: str, line: int) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(line, f"{what} must be a non-empty string, not {_kind(value)}")
        return value

    def strings(self, value: Any, what: str, line: int) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        items = self.sequence(value, what, line)
        return tuple(self.string(v, f"{what}[{i}]", items.line_of(i))
                     for i, v in enumerate(items))

    def regex(self, value: Any, what: str, line: int) -> re.Pattern[str]:
        text = self.string(value, what, line)
        try:
            return re.compile(text)
        except re.error as exc:
            raise self.fail(line, f"{what} {text!r} is not a valid regular expression: {exc}",
                            "check the escaping: in YAML double quotes write \\\\ for \\") from None

    def pattern(self, value: Any, what: str, line: int) -> Pattern:
        """An RE2 expression: linear-time matching, so a tag value can never hang a check."""
        text = self.string(value, what, line)
        import re2  # 2 ms, paid only by a policy that has a pattern

        options = re2.Options()
        options.log_errors = False  # RE2 would print its own copy of the error to stderr
        try:
            compiled = re2.compile(text, options)
        except re2.error as exc:
            reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(
                exc.args[0], bytes) else str(exc)
            raise self.fail(line, f"{what} {text!r} is not a valid regular expression in "
                                  f"RE2 syntax: {reason}",
                            "patterns use RE2 syntax: no backreferences or lookaround; in "
                            "YAML double quotes write \\\\ for \\") from None
        return Pattern(pattern=text, compiled=compiled)

    def duration(self, value: Any, what: str, line: int, *, forever_ok: bool) -> int | None:
        try:
            return dates.duration_days(value, forever_ok=forever_ok)
        except dates.DateError as exc:
            raise self.fail(line, f"{what} {exc.message}", exc.hint) from None

    def date(self, value: Any, what: str, line: int) -> dt.date:
        try:
            return dates.to_date(value)
        except dates.DateError as exc:
            raise self.fail(line, f"{what} {exc.message}", exc.hint) from None

    def hold_path(self, value: Any, line: int) -> str:
        """``./models/a.bin``, ``models//a.bin/`` -> ``models/a.bin``; never outside the repo."""
        text = self.string(value, "hold path", line).strip()
        norm = posixpath.normpath(text.lstrip("/"))
        if norm in ("", "."):
            raise self.fail(line, f"hold path {text!r} names the whole repository",
                            "name an artifact, a folder or a glob such as models/**")
        if norm == ".." or norm.startswith("../"):
            raise self.fail(line, f"hold path {text!r} is outside the repository",
                            "write a path relative to the repository root")
        return norm

    def hold_version(self, value: Any, line: int) -> str:
        """The full ``md5:<hex>`` label a hold names: a short hash would match nothing."""
        if isinstance(value, int) and not isinstance(value, bool):
            text = str(value)  # an all-digit md5 written unquoted reads as a YAML integer
            if len(text) != 32:
                raise self.fail(line, f"hold version {value!r} is not a full hash (YAML read "
                                      "it as a number)", "quote the whole md5: 'md5:...'")
        elif isinstance(value, str):
            text = value.strip().lower()
        else:
            raise self.fail(line, f"hold version must be a hash, not {_kind(value)}")
        match = _FULL_HASH.fullmatch(text)
        if match is None:
            raise self.fail(line, f"hold version {value!r} is not a full hash",
                            "write all 32 hex digits of the md5 (with .dir for a folder), "
                            "as the .dvc file or `archivist plan --json` shows it")
        return f"md5:{match.group(1)}"


def _kind(value: Any) -> str:
    if value is None:
        return "empty"
    return {dict: "a mapping", LinedDict: "a mapping", list: "a list",
            LinedList: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


# ---------------------------------------------------------------- sections

_TOP_KEYS = ("version", "branch", "remotes", "tags", "retention", "signing", "authority")
_RULE_KEYS = ("match", "require", "description")
_MATCH_KEYS = ("paths", "types", "exclude")
_CONSTRAINT_KEYS = ("pattern", "enum", "type", "min_length", "max_length", "min", "max", "hint")
_RETENTION_KEYS = ("default", "classes", "releases", "holds", "lineage")
_CLASS_KEYS = ("active", "archive")
_CLASS_OPTIONAL_KEYS = ("basis",)
_HOLD_KEYS = ("path", "reason", "until", "version")
_SIGNING_KEYS = ("method", "required_for", "identities", "public_keys", "certificate_roots",
                 "trust_config", "since")
_IDENTITY_CLAIMS = ("repository", "workflow", "ref", "event")  # Fulcio's, keyless only
_IDENTITY_KEYS = ("issuer", "identity", "root", "root_sha256", *_IDENTITY_CLAIMS)
_SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
_REMOTE_KEYS = ("active", "archive", "shared_with")
_SHARED_KEYS = ("url", "branch")
_AUTHORITY_KEYS = ("signers", "roles", "may")
_PERMISSION_KEYS = ("roles", "approvals")


def _constraint(r: _Reader, key: str, value: Any, line: int) -> Constraint:
    spec = r.mapping(value, f"require.{key}", line)
    r.known_keys(spec, _CONSTRAINT_KEYS, f"the constraint on {key!r}")
    kwargs: dict[str, Any] = {}
    if "pattern" in spec:
        kwargs["pattern"] = r.pattern(spec["pattern"], f"pattern of {key!r}",
                                      spec.line_of("pattern"))
    if "enum" in spec:
        items = r.sequence(spec["enum"], f"enum of {key!r}", spec.line_of("enum"))
        if not items:
            raise r.fail(spec.line_of("enum"), f"enum of {key!r} is empty",
                         "list the allowed values")
        kwargs["enum"] = tuple(items)
    if "type" in spec:
        type_ = spec["type"]
        if type_ not in VALUE_TYPES:
            import difflib

            near = difflib.get_close_matches(str(type_), VALUE_TYPES, n=1)
            raise r.fail(spec.line_of("type"), f"unknown type {type_!r} for {key!r}",
                         f"did you mean {near[0]!r}?" if near else "use one of "
                         + ", ".join(VALUE_TYPES))
        kwargs["type"] = type_
    for name, attr in (("min_length", "min_length"), ("max_length", "max_length"),
                       ("min", "minimum"), ("max", "maximum")):
        if name in spec:
            number = spec[name]
            if isinstance(number, bool) or not isinstance(number, int | float):
                raise r.fail(spec.line_of(name), f"{name} of {key!r} must be a number")
            kwargs[attr] = number
    if "hint" in spec:
        kwargs["hint"] = r.string(spec["hint"], f"hint of {key!r}", spec.line_of("hint"))
    return Constraint(key=key, line=line, **kwargs)


def _rule(r: _Reader, index: int, value: Any, line: int) -> Rule:
    data = r.mapping(value, f"tags[{index}]", line)
    r.known_keys(data, _RULE_KEYS, f"tags[{index}]")
    if "match" not in data:
        raise r.fail(data.line, f"tags[{index}] has no 'match:'",
                     "add match: {paths: [\"models/**\"]}")
    match = r.mapping(data["match"], f"tags[{index}].match", data.line_of("match"))
    r.known_keys(match, _MATCH_KEYS, f"tags[{index}].match")
    paths = r.strings(match.get("paths"), "match.paths", match.line_of("paths")) \
        if "paths" in match else ()
    types = r.strings(match.get("types"), "match.types", match.line_of("types")) \
        if "types" in match else ()
    exclude = r.strings(match.get("exclude"), "match.exclude", match.line_of("exclude")) \
        if "exclude" in match else ()
    if not paths and not types:
        raise r.fail(match.line, f"tags[{index}].match names no paths and no types",
                     "add paths: [\"models/**\"] or types: [model]")
    require = r.mapping(data.get("require"), f"tags[{index}].require", data.line_of("require"))
    constraints = []
    for key in require:
        if not isinstance(key, str) or not key or any(not part for part in key.split(".")):
            raise r.fail(require.line_of(key), f"required tag {key!r} is not a dotted key",
                         "write e.g. owner or data.source")
        constraints.append(_constraint(r, key, require[key], require.line_of(key)))
    return Rule(index=index, line=data.line, paths=paths, types=types,
                require=tuple(constraints), exclude=exclude)


def _retention(r: _Reader, value: Any, line: int) -> Retention:
    data = r.mapping(value, "retention", line)
    r.known_keys(data, _RETENTION_KEYS, "retention")
    classes_raw = r.mapping(data.get("classes"), "retention.classes", data.line_of("classes"))
    classes: dict[str, RetentionClass] = {}
    for name in classes_raw:
        cline = classes_raw.line_of(name)
        spec = r.mapping(classes_raw[name], f"retention class {name!r}", cline)
        r.known_keys(spec, _CLASS_KEYS + _CLASS_OPTIONAL_KEYS, f"retention class {name!r}")
        for needed in _CLASS_KEYS:
            if needed not in spec:
                raise r.fail(spec.line or cline, f"retention class {name!r} has no {needed!r}",
                             f"add {needed}: 1y")
        classes[str(name)] = RetentionClass(
            name=str(name),
            active_days=r.duration(spec["active"], f"{name}.active", spec.line_of("active"),
                                   forever_ok=False) or 0,
            archive_days=r.duration(spec["archive"], f"{name}.archive",
                                    spec.line_of("archive"), forever_ok=True),
            line=cline,
            basis=r.string(spec["basis"], f"{name}.basis", spec.line_of("basis"))
            if spec.get("basis") is not None else None,
        )
    default = data.get("default", "standard")
    if classes and default not in classes:
        raise r.fail(data.line_of("default"), f"retention.default {default!r} is not a class",
                     "known classes: " + ", ".join(classes))
    releases = data.get("releases")
    if releases is not None and releases not in classes:
        raise r.fail(data.line_of("releases"), f"retention.releases {releases!r} is not a class",
                     "known classes: " + ", ".join(classes))
    holds_raw = r.sequence(data.get("holds"), "retention.holds", data.line_of("holds"))
    holds = []
    for i, item in enumerate(holds_raw):
        hline = holds_raw.line_of(i)
        hold = r.mapping(item, f"retention.holds[{i}]", hline)
        r.known_keys(hold, _HOLD_KEYS, f"retention.holds[{i}]")
        if "path" not in hold or "reason" not in hold:
            raise r.fail(hline, f"retention.holds[{i}] needs a path and a reason",
                         "write {path: models/clf.pkl, reason: \"legal hold LH-114\"}")
        holds.append(Hold(
            path=r.hold_path(hold["path"], hold.line_of("path")),
            reason=r.string(hold["reason"], "hold reason", hold.line_of("reason")),
            until=r.date(hold["until"], "hold until", hold.line_of("until"))
            if hold.get("until") is not None else None,
            version=r.hold_version(hold["version"], hold.line_of("version"))
            if hold.get("version") is not None else None,
            line=hline,
        ))
    lineage = data.get("lineage", True)
    if not isinstance(lineage, bool):
        raise r.fail(data.line_of("lineage"), f"retention.lineage must be true or false, not "
                                              f"{_kind(lineage)}", "write lineage: true")
    return Retention(default=str(default), classes=classes,
                     releases=str(releases) if releases else None, holds=tuple(holds),
                     lineage=lineage)


def _shared_with(r: _Reader, value: Any, line: int) -> tuple[SharedRepository, ...]:
    items = r.sequence(value, "remotes.shared_with", line)
    shared = []
    for i, item in enumerate(items):
        sline = items.line_of(i)
        spec = r.mapping(item, f"remotes.shared_with[{i}]", sline)
        r.known_keys(spec, _SHARED_KEYS, f"remotes.shared_with[{i}]")
        if "url" not in spec or "branch" not in spec:
            raise r.fail(spec.line or sline, f"remotes.shared_with[{i}] needs a url and a "
                         "branch", "write {url: ../feature-store, branch: main}")
        shared.append(SharedRepository(
            url=r.string(spec["url"], "shared_with url", spec.line_of("url")),
            branch=r.string(spec["branch"], "shared_with branch", spec.line_of("branch")),
            line=sline))
    return tuple(shared)


def _authority(r: _Reader, value: Any, line: int) -> Authority:
    data = r.mapping(value, "authority", line)
    r.known_keys(data, _AUTHORITY_KEYS, "authority")
    if "signers" not in data:
        raise r.fail(data.line or line, "authority has no signers file",
                     "write signers: .archivist/allowed_signers (git's SSH allowed-signers "
                     "format)")
    signers = r.hold_path(data["signers"], data.line_of("signers"))
    roles_raw = r.mapping(data.get("roles"), "authority.roles", data.line_of("roles"))
    roles = {str(name): r.strings(roles_raw[name], f"role {name!r}", roles_raw.line_of(name))
             for name in roles_raw}
    may_raw = r.mapping(data.get("may"), "authority.may", data.line_of("may"))
    r.known_keys(may_raw, AUTHORITY_ACTIONS, "authority.may")
    may: dict[str, Permission] = {}
    for action in may_raw:
        aline = may_raw.line_of(action)
        spec = may_raw[action]
        approvals = 0
        if isinstance(spec, dict):
            r.known_keys(spec, _PERMISSION_KEYS, f"authority.may.{action}")
            approvals_raw = spec.get("approvals", 0)
            if isinstance(approvals_raw, bool) or not isinstance(approvals_raw, int) or \
                    not 0 <= approvals_raw <= 100:
                raise r.fail(spec.line_of("approvals"), f"authority.may.{action}.approvals "
                             f"must be a whole number from 0 to 100, not {approvals_raw!r}",
                             "write approvals: 2")
            approvals = approvals_raw
            spec = spec.get("roles")
        granted = r.strings(spec, f"authority.may.{action}", aline)
        for role in granted:
            if role not in roles:
                raise r.fail(aline, f"authority.may.{action} names role {role!r}, which "
                             "authority.roles does not define",
                             "known roles: " + (", ".join(roles) or "none"))
        may[str(action)] = Permission(action=str(action), roles=granted, approvals=approvals,
                                      line=aline)
    return Authority(signers=signers, roles=roles, may=may, line=line)


def _identity(r: _Reader, i: int, item: Any, line: int, roots: Sequence[str]) -> Identity:
    what = f"signing.identities[{i}]"
    ident = r.mapping(item, what, line)
    r.known_keys(ident, _IDENTITY_KEYS, what)
    if "identity" not in ident:
        raise r.fail(line, f"{what} needs an identity (a pattern the certificate's subject "
                     "alternative name must match)")
    root = ident.get("root")
    if root is not None:
        root = r.string(root, f"{what}.root", ident.line_of("root"))
        if root not in roots:
            raise r.fail(ident.line_of("root"), f"{what}.root {root} is not one of "
                         "signing.certificate_roots", "list the file in certificate_roots too")
    fingerprint = ident.get("root_sha256")
    if fingerprint is not None:
        text = r.string(fingerprint, f"{what}.root_sha256", ident.line_of("root_sha256"))
        fingerprint = text.replace(":", "").lower()
        if not _SHA256_HEX.match(fingerprint):
            raise r.fail(ident.line_of("root_sha256"), f"{what}.root_sha256 {text!r} is not a "
                         "SHA-256 fingerprint", "openssl x509 -noout -fingerprint -sha256 "
                         "-in ROOT.pem")
    if root is not None and fingerprint is not None:
        raise r.fail(line, f"{what} names root and root_sha256", "keep one of them")
    bound = root is not None or fingerprint is not None
    if "issuer" not in ident and not bound:
        raise r.fail(line, f"{what} needs an issuer (keyless: the OIDC issuer URL), or a "
                     "root: or root_sha256: (a certificate identity)")
    claims = []
    for claim in _IDENTITY_CLAIMS:
        if claim not in ident:
            continue
        if bound:
            # Any CA can write Fulcio's extensions; only Sigstore's vouches for them.
            raise r.fail(ident.line_of(claim), f"{what}.{claim} is a claim of Sigstore's "
                         "keyless certificates, and this entry names a certificate root",
                         f"drop {claim}:, or make the entry keyless (issuer:, no root)")
        claims.append((claim, r.strings(ident[claim], f"{what}.{claim}",
                                        ident.line_of(claim))))
    return Identity(
        issuer=r.string(ident["issuer"], f"{what}.issuer", ident.line_of("issuer"))
        if "issuer" in ident else None,
        identity=r.regex(ident["identity"], "identity", ident.line_of("identity")),
        line=line, root=root, root_sha256=fingerprint, claims=tuple(claims))


def _signing(r: _Reader, value: Any, line: int) -> Signing:
    data = r.mapping(value, "signing", line)
    r.known_keys(data, _SIGNING_KEYS, "signing")
    method = data.get("method", "sigstore")
    if method not in SIGNING_METHODS:
        raise r.fail(data.line_of("method"), f"unknown signing method {method!r}",
                     "use one of " + ", ".join(SIGNING_METHODS))
    identities_raw = r.sequence(data.get("identities"), "signing.identities",
                                data.line_of("identities"))
    roots = (r.strings(data["certificate_roots"], "signing.certificate_roots",
                       data.line_of("certificate_roots")) if "certificate_roots" in data else ())
    identities = [_identity(r, i, item, identities_raw.line_of(i), roots)
                  for i, item in enumerate(identities_raw)]
    def paths(key: str) -> tuple[str, ...]:
        return r.strings(data[key], f"signing.{key}", data.line_of(key)) if key in data else ()
    trust = data.get("trust_config")
    return Signing(
        method=str(method),
        required_for=str(data["required_for"]) if data.get("required_for") else None,
        identities=tuple(identities),
        public_keys=paths("public_keys"),
        certificate_roots=paths("certificate_roots"),
        trust_config=r.string(trust, "signing.trust_config", data.line_of("trust_config"))
        if trust is not None else None,
        since=r.date(data["since"], "signing.since", data.line_of("since"))
        if data.get("since") is not None else None,
    )


def parse_policy(text: str | bytes, source: str = POLICY_FILE) -> Policy:
    """Validate policy text; raise ``ConfigError`` naming ``source`` and the line."""
    r = _Reader(source)
    data = yamlload.load(text, source)
    if data is None:
        raise r.fail(0, "the policy is empty", "start from `archivist init`")
    data = r.mapping(data, "the policy", 1)
    r.known_keys(data, _TOP_KEYS, "the policy")
    version = data.get("version")
    if version not in SUPPORTED_VERSIONS:
        raise r.fail(data.line_of("version"),
                     f"unsupported policy version {version!r}", "write version: 1")
    branch = data.get("branch")
    if branch is not None:
        branch = r.string(branch, "branch", data.line_of("branch"))
    remotes_raw = r.mapping(data.get("remotes"), "remotes", data.line_of("remotes"))
    r.known_keys(remotes_raw, _REMOTE_KEYS, "remotes")
    remotes = Remotes(
        active=r.string(remotes_raw["active"], "remotes.active", remotes_raw.line_of("active"))
        if "active" in remotes_raw else None,
        archive=r.string(remotes_raw["archive"], "remotes.archive",
                         remotes_raw.line_of("archive")) if "archive" in remotes_raw else None,
        shared_with=_shared_with(r, remotes_raw["shared_with"], remotes_raw.line_of(
            "shared_with")) if remotes_raw.get("shared_with") is not None else (),
    )
    rules_raw = r.sequence(data.get("tags"), "tags", data.line_of("tags"))
    rules = tuple(_rule(r, i, item, rules_raw.line_of(i)) for i, item in enumerate(rules_raw))
    retention = _retention(r, data["retention"], data.line_of("retention")) \
        if "retention" in data else None
    signing = _signing(r, data["signing"], data.line_of("signing")) if "signing" in data else None
    authority = _authority(r, data["authority"], data.line_of("authority")) \
        if "authority" in data else None
    return Policy(source=source, version=int(version), branch=branch, remotes=remotes,
                  rules=rules, retention=retention, signing=signing, raw=data,
                  authority=authority)


def load_policy(root: Path) -> Policy:
    """Read ``archivist.yaml`` from the working tree at ``root``."""
    path = root / POLICY_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"no policy: {POLICY_FILE} not found in {root}",
                          "run `archivist init` to write one") from None
    except OSError as exc:
        raise ConfigError(f"{POLICY_FILE}: cannot read: {exc.strerror}") from None
    return parse_policy(data, POLICY_FILE)
