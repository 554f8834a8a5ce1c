"""A small emulation of GitHub Actions' and GitLab CI's runners, enough to run the templates.

It reads a workflow (or a GitLab job) as YAML and does what the runner does: a fresh clone
of the origin, the predefined variables, `${{ }}` expressions and `$VARIABLES` put in, each
`run:` step (or the job's script) executed with bash in order, with the runner's own
`if:` rules, GITHUB_ENV / GITHUB_PATH / GITHUB_STEP_SUMMARY, artifacts kept. Actions from
elsewhere are played by their documented behaviour (checkout, setup-python, cache,
upload-artifact); archivist's own action runs from this checkout's action.yml. The one
departure: installing archivist reuses this checkout's virtualenv (the cache a runner
would restore) instead of downloading packages.

An expression or rule this emulation does not know is an error, never a silent guess.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from realrepo import PROJECT

VENV = Path(sys.prefix)
BIN = VENV / "bin"


def base_env(home: Path) -> dict[str, str]:
    """A runner's environment: no archivist on PATH, no developer git config, no CI leaks."""
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                           if p and Path(p).resolve() != BIN.resolve())
    home.mkdir(parents=True, exist_ok=True)
    return {"PATH": path, "HOME": str(home), "LANG": "C.UTF-8", "GIT_CONFIG_NOSYSTEM": "1",
            "DVC_NO_ANALYTICS": "1", "NO_COLOR": "1", "AWS_EC2_METADATA_DISABLED": "true",
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


def fresh(root: Path) -> Path:
    """``root``, or ``root-2``, ``root-3``...: each run gets a machine of its own."""
    candidate, n = root, 1
    while candidate.exists():
        n += 1
        candidate = root.with_name(f"{root.name}-{n}")
    return candidate


def git(args: list[str], cwd: Path, env: Mapping[str, str]) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=dict(env), capture_output=True,
                          text=True, check=False)
    if proc.returncode:
        raise AssertionError(f"git {' '.join(args)}: {proc.stderr}")
    return proc.stdout


@dataclass
class Step:
    name: str
    outcome: str  # success, failure, skipped
    code: int | None = None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0


@dataclass
class Job:
    steps: list[Step] = field(default_factory=list)
    summary: str = ""
    artifacts: dict[str, Path] = field(default_factory=dict)
    workspace: Path | None = None

    @property
    def ok(self) -> bool:
        return all(s.outcome != "failure" for s in self.steps)

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    @property
    def output(self) -> str:
        return "\n".join(f"== {s.name} [{s.outcome}, {s.seconds:.1f} s]\n{s.stdout}{s.stderr}"
                         for s in self.steps)


# ---------------------------------------------------------------------------- expressions

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|"
                    r"(?P<op>==|!=|&&|\|\||!|\(|\)|,|\.|\[|\])|(?P<name>[A-Za-z_][\w-]*))")


class Expr:
    """GitHub's expression language, the part workflows use: contexts, literals, `!`,
    `==`, `!=`, `&&`, `||`, parentheses, and the functions the templates call."""

    def __init__(self, text: str, contexts: Mapping[str, Any],
                 functions: Mapping[str, Callable[..., Any]]) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise ValueError(f"expression {text!r}: cannot read at {text[pos:]!r}")
            kind = m.lastgroup
            assert kind is not None
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0
        self.contexts = contexts
        self.functions = functions
        self.text = text

    def value(self) -> Any:
        out = self._or()
        if self.i != len(self.tokens):
            raise ValueError(f"expression {self.text!r}: trailing {self.tokens[self.i:]}")
        return out

    def _peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def _take(self, want: str | None = None) -> tuple[str, str]:
        tok = self.tokens[self.i]
        if want is not None and tok[1] != want:
            raise ValueError(f"expression {self.text!r}: expected {want!r}, got {tok[1]!r}")
        self.i += 1
        return tok

    def _or(self) -> Any:
        left = self._and()
        while self._peek() == "||":
            self._take()
            right = self._and()
            left = left if truthy(left) else right
        return left

    def _and(self) -> Any:
        left = self._cmp()
        while self._peek() == "&&":
            self._take()
            right = self._cmp()
            left = right if truthy(left) else left
        return left

    def _cmp(self) -> Any:
        left = self._unary()
        while self._peek() in ("==", "!="):
            op = self._take()[1]
            right = self._unary()
            same = _loose(left) == _loose(right)
            left = same if op == "==" else not same
        return left

    def _unary(self) -> Any:
        if self._peek() == "!":
            self._take()
            return not truthy(self._unary())
        return self._primary()

    def _primary(self) -> Any:
        kind, tok = self._take()
        if tok == "(":
            out = self._or()
            self._take(")")
            return out
        if kind == "str":
            return tok[1:-1].replace("''", "'")
        if kind == "num":
            return float(tok)
        if kind != "name":
            raise ValueError(f"expression {self.text!r}: unexpected {tok!r}")
        if tok in ("true", "false"):
            return tok == "true"
        if tok == "null":
            return None
        if self._peek() == "(":
            self._take()
            args = []
            while self._peek() != ")":
                args.append(self._or())
                if self._peek() == ",":
                    self._take()
            self._take(")")
            if tok not in self.functions:
                raise ValueError(f"expression {self.text!r}: unknown function {tok}()")
            return self.functions[tok](*args)
        if tok not in self.contexts:
            raise ValueError(f"expression {self.text!r}: unknown context {tok!r}")
        value = self.contexts[tok]
        while self._peek() in (".", "["):
            if self._take()[1] == ".":
                key = self._take()[1]
            else:
                key = self._or()
                self._take("]")
            value = value.get(key) if isinstance(value, dict) else None
        return value


def truthy(value: Any) -> bool:
    return value not in (None, False, 0, 0.0, "")


def _loose(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def substitute(text: str, contexts: Mapping[str, Any],
               functions: Mapping[str, Callable[..., Any]]) -> str:
    return re.sub(r"\$\{\{(.*?)\}\}",
                  lambda m: to_text(Expr(m.group(1), contexts, functions).value()), text)


def deep_substitute(node: Any, contexts: Mapping[str, Any],
                    functions: Mapping[str, Callable[..., Any]]) -> Any:
    if isinstance(node, str):
        return substitute(node, contexts, functions)
    if isinstance(node, dict):
        return {k: deep_substitute(v, contexts, functions) for k, v in node.items()}
    if isinstance(node, list):
        return [deep_substitute(v, contexts, functions) for v in node]
    return node


def _env_file(path: Path) -> dict[str, str]:
    """GITHUB_ENV / GITHUB_OUTPUT: NAME=value lines and NAME<<DELIM heredocs."""
    out: dict[str, str] = {}
    if not path.exists():
        return out
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            body = []
            i += 1
            while lines[i] != delim:
                body.append(lines[i])
                i += 1
            out[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
        i += 1
    return out


# ---------------------------------------------------------------------------- GitHub


@dataclass
class GitHubRun:
    """One workflow run: the event that started it and what the repository holds."""

    origin: Path
    event_name: str  # pull_request, push, schedule, workflow_dispatch
    ref: str  # GITHUB_REF
    sha: str
    event: dict[str, Any]
    secrets: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)  # the repository's `vars`
    repository: str = "acme/models"
    before_step: Callable[[str], None] | None = None  # what happens elsewhere meanwhile


class GitHubRunner:
    def __init__(self, root: Path, run: GitHubRun) -> None:
        self.root = root = fresh(root)
        self.run = run
        self.workspace = root / "workspace"
        self.temp = root / "runner-temp"
        self.artifacts = root / "artifacts"
        for d in (self.workspace, self.temp, self.artifacts):
            d.mkdir(parents=True, exist_ok=True)
        self.env = base_env(root / "home")
        self.paths: list[str] = []
        self.job_env: dict[str, str] = {}
        self.job = Job(workspace=self.workspace)
        self.failed = False
        self.steps_ctx: dict[str, Any] = {}

    # contexts and functions
    def github(self, action_path: str | None = None) -> dict[str, Any]:
        r = self.run
        ctx = {"event_name": r.event_name, "event": r.event, "ref": r.ref, "sha": r.sha,
               "ref_name": r.ref.split("/", 2)[2] if r.ref.count("/") >= 2 else r.ref,
               "ref_type": "tag" if r.ref.startswith("refs/tags/") else "branch",
               "repository": r.repository, "workspace": str(self.workspace),
               "base_ref": "", "head_ref": "", "job": "job"}
        if r.event_name == "pull_request":
            ctx["base_ref"] = r.event["pull_request"]["base"]["ref"]
            ctx["head_ref"] = r.event["pull_request"]["head"]["ref"]
        if action_path:
            ctx["action_path"] = action_path
        return ctx

    def contexts(self, extra_env: Mapping[str, str] | None = None,
                 inputs: Mapping[str, Any] | None = None,
                 action_path: str | None = None) -> dict[str, Any]:
        env = {**self.job_env, **_env_file(self.temp / "github_env"), **(extra_env or {})}
        return {"github": self.github(action_path), "env": env,
                "secrets": dict(self.run.secrets), "runner": {"os": "Linux",
                                                               "temp": str(self.temp)},
                "inputs": dict(inputs if inputs is not None else self.run.inputs),
                "steps": self.steps_ctx, "vars": dict(self.run.variables)}

    def functions(self) -> dict[str, Callable[..., Any]]:
        return {"always": lambda: True, "success": lambda: not self.failed,
                "failure": lambda: self.failed, "cancelled": lambda: False,
                "format": lambda f, *a: re.sub(r"\{(\d+)\}", lambda m: to_text(a[int(m[1])]),
                                               f),
                "startsWith": lambda s, p: to_text(s).lower().startswith(to_text(p).lower()),
                "hashFiles": self._hash_files}

    def _hash_files(self, *patterns: str) -> str:
        files = sorted({p for pat in patterns
                        for p in glob.glob(str(self.workspace / pat), recursive=True)
                        if Path(p).is_file()})
        if not files:
            return ""
        digest = hashlib.sha256()
        for f in files:
            digest.update(hashlib.sha256(Path(f).read_bytes()).digest())
        return digest.hexdigest()

    def _condition(self, cond: Any) -> bool:
        if cond is None:
            return not self.failed
        text = str(cond).strip()
        if text.startswith("${{") and text.endswith("}}"):
            text = text[3:-2]
        if not re.search(r"\b(always|success|failure|cancelled)\(", text):
            text = f"success() && ({text})"
        return truthy(Expr(text, self.contexts(), self.functions()).value())

    def _step_env(self, step_env: Mapping[str, str]) -> dict[str, str]:
        env = {**self.env, **self.runner_vars(), **self.job_env,
               **_env_file(self.temp / "github_env"), **step_env}
        env["PATH"] = os.pathsep.join([*reversed(self.paths), env["PATH"]])
        return env

    def runner_vars(self) -> dict[str, str]:
        g = self.github()
        return {"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(self.workspace),
                "GITHUB_EVENT_NAME": g["event_name"], "GITHUB_REF": g["ref"],
                "GITHUB_REF_NAME": g["ref_name"], "GITHUB_REF_TYPE": g["ref_type"],
                "GITHUB_SHA": g["sha"], "GITHUB_BASE_REF": g["base_ref"],
                "GITHUB_HEAD_REF": g["head_ref"], "GITHUB_REPOSITORY": g["repository"],
                "GITHUB_ENV": str(self.temp / "github_env"),
                "GITHUB_PATH": str(self.temp / "github_path"),
                "GITHUB_EVENT_PATH": str(self.temp / "event.json"),
                "RUNNER_TEMP": str(self.temp), "RUNNER_OS": "Linux"}

    def _bash(self, name: str, script: str, env: dict[str, str]) -> Step:
        (self.temp / "github_path").touch()
        summary = self.temp / "step_summary"
        summary.write_text("")
        env = {**env, "GITHUB_STEP_SUMMARY": str(summary),
               "GITHUB_OUTPUT": str(self.temp / "github_output")}
        (self.temp / "github_output").write_text("")
        script_file = self.temp / "step.sh"
        script_file.write_text(script, encoding="utf-8")
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail",
                               str(script_file)], cwd=self.workspace, env=env,
                              capture_output=True, text=True, check=False)
        self.job.summary += summary.read_text(encoding="utf-8")
        self.paths = [p for p in (self.temp / "github_path").read_text().splitlines() if p]
        return Step(name, "success" if proc.returncode == 0 else "failure", proc.returncode,
                    proc.stdout, proc.stderr)

    # the job
    def run_job(self, workflow: Path, job_id: str) -> Job:
        data = yaml.safe_load(workflow.read_text(encoding="utf-8"))
        (self.temp / "event.json").write_text(json.dumps(self.run.event))
        ctx = self.contexts()
        self.job_env = {k: to_text(v) for k, v in deep_substitute(
            {**data.get("env", {}), **data["jobs"][job_id].get("env", {})}, ctx,
            self.functions()).items()}
        # the concurrency group must evaluate for every trigger
        if "concurrency" in data:
            deep_substitute(data["concurrency"], ctx, self.functions())
        for i, step in enumerate(data["jobs"][job_id]["steps"]):
            name = step.get("name") or step.get("uses") or f"step {i}"
            if self.run.before_step:
                self.run.before_step(name)
            if not self._condition(step.get("if")):
                self.job.steps.append(Step(name, "skipped"))
                continue
            started = time.monotonic()
            result = self._one(name, step)
            result.seconds = time.monotonic() - started
            self.job.steps.append(result)
            if step.get("id"):
                self.steps_ctx[step["id"]] = {"outcome": result.outcome,
                                              "conclusion": result.outcome,
                                              "outputs": _env_file(self.temp / "github_output")}
            if result.outcome == "failure" and not step.get("continue-on-error"):
                self.failed = True
        return self.job

    def _one(self, name: str, step: dict[str, Any]) -> Step:
        ctx = self.contexts()
        env = {k: to_text(v) for k, v in
               deep_substitute(step.get("env", {}), ctx, self.functions()).items()}
        if "run" in step:
            script = substitute(step["run"], self.contexts(env), self.functions())
            return self._bash(name, script, self._step_env(env))
        uses = step["uses"]
        with_ = {k: to_text(v) for k, v in
                 deep_substitute(step.get("with", {}), self.contexts(env),
                                 self.functions()).items()}
        action = uses.split("@", 1)[0]
        if action == "actions/checkout":
            return self._checkout(name, with_)
        if action == "actions/setup-python":
            return Step(name, "success")  # the runner's python3 is 3.11 or newer already
        if action == "actions/cache":
            return Step(name, "success")  # a cold cache: nothing restored
        if action == "actions/upload-artifact":
            return self._upload(name, with_)
        if action == "ORG/archivist":
            return self._archivist_action(name, with_, env)
        raise AssertionError(f"the emulation does not know the action {uses}")

    def _checkout(self, name: str, with_: Mapping[str, str]) -> Step:
        ws, env = self.workspace, self.env
        git(["init", "-q"], ws, env)
        git(["remote", "add", "origin", str(self.run.origin)], ws, env)
        if with_.get("fetch-depth", "1") != "0":
            raise AssertionError("the templates need the whole history (fetch-depth: 0)")
        git(["fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*",
             "+refs/tags/*:refs/tags/*"], ws, env)
        ref = with_.get("ref") or self.run.ref
        if re.fullmatch(r"[0-9a-f]{40}", ref):
            git(["fetch", "-q", "origin", ref], ws, env)
            git(["checkout", "-q", "--detach", ref], ws, env)
        elif ref.startswith("refs/pull/"):
            git(["fetch", "-q", "origin", f"+{ref}:refs/remotes/pull/{ref.split('/')[2]}"],
                ws, env)
            git(["checkout", "-q", "--detach", f"refs/remotes/pull/{ref.split('/')[2]}"],
                ws, env)
        elif ref.startswith("refs/tags/"):
            git(["checkout", "-q", "--detach", ref], ws, env)
        else:
            branch = ref.removeprefix("refs/heads/")
            git(["checkout", "-q", "-B", branch, f"refs/remotes/origin/{branch}"], ws, env)
        if with_.get("persist-credentials", "true") == "false":
            pass  # no credentials here anyway: the origin is a local path
        return Step(name, "success")

    def _upload(self, name: str, with_: Mapping[str, str]) -> Step:
        dest = self.artifacts / with_["name"]
        dest.mkdir(parents=True, exist_ok=True)
        found = 0
        for line in with_["path"].splitlines():
            line = line.strip()
            if line and (self.workspace / line).is_file():
                shutil.copy2(self.workspace / line, dest / Path(line).name)
                self.job.artifacts[Path(line).name] = dest / Path(line).name
                found += 1
        if not found and with_.get("if-no-files-found", "warn") == "error":
            return Step(name, "failure", 1, "", "no files found")
        return Step(name, "success")

    def _archivist_action(self, name: str, with_: Mapping[str, str],
                          step_env: Mapping[str, str]) -> Step:
        # The cache a runner restores: the virtualenv of this checkout, where the action's
        # install step looks first.
        venv = self.temp / "archivist"
        if not venv.exists():
            venv.symlink_to(VENV, target_is_directory=True)
        action = yaml.safe_load((PROJECT / "action.yml").read_text(encoding="utf-8"))
        inputs = {k: to_text(v.get("default", "")) for k, v in action["inputs"].items()}
        unknown = set(with_) - set(inputs)
        if unknown:
            raise AssertionError(f"action.yml has no input {sorted(unknown)}")
        inputs.update(with_)
        out = Step(name, "success")
        for step in action["runs"]["steps"]:
            ctx = self.contexts(inputs=inputs, action_path=str(PROJECT))
            cond = step.get("if")
            if cond is not None and not truthy(Expr(str(cond).removeprefix("${{")
                                                    .removesuffix("}}"), ctx,
                                                    self.functions()).value()):
                continue
            env = {k: to_text(v) for k, v in deep_substitute(step.get("env", {}), ctx,
                                                             self.functions()).items()}
            script = substitute(step["run"], ctx, self.functions())
            result = self._bash(name, script, {**self._step_env({**step_env, **env}),
                                               "GITHUB_ACTION_PATH": str(PROJECT)})
            out = Step(name, result.outcome, result.code, out.stdout + result.stdout,
                       out.stderr + result.stderr)
            if result.outcome == "failure":
                break
        return out


# ---------------------------------------------------------------------------- GitLab


@dataclass
class GitLabPipeline:
    origin: Path
    variables: dict[str, str]  # predefined for this pipeline (CI_PIPELINE_SOURCE, ...)
    project_variables: dict[str, str] = field(default_factory=dict)  # CI/CD settings
    fetch_refs: tuple[str, ...] = ()  # e.g. refs/merge-requests/1/head
    before_line: Callable[[str], None] | None = None


_RULE_TOKEN = re.compile(r"\s*(?:(?P<var>\$\w+)|(?P<str>\"[^\"]*\"|'[^']*')|"
                         r"(?P<re>/(?:\\.|[^/])*/)|(?P<op>==|!=|=~|!~|&&|\|\||\(|\)))")


def gitlab_rule(text: str, variables: Mapping[str, str]) -> bool:
    """GitLab's `rules: if:`: variables, strings, regexes, ==, !=, =~, &&, || (no parens)."""
    def atom(tok: tuple[str, str]) -> Any:
        kind, value = tok
        if kind == "var":
            return variables.get(value[1:]) or None
        if kind == "str":
            return value[1:-1]
        if kind == "re":
            return re.compile(value[1:-1])
        raise ValueError(f"rule {text!r}: unexpected {value!r}")

    tokens = []
    pos = 0
    while pos < len(text.strip()):
        m = _RULE_TOKEN.match(text.strip(), pos)
        if not m:
            raise ValueError(f"rule {text!r}: cannot read at {text.strip()[pos:]!r}")
        tokens.append((m.lastgroup or "", m.group(m.lastgroup or 0)))
        pos = m.end()
    ors: list[list[list[tuple[str, str]]]] = [[[]]]
    for tok in tokens:
        if tok[1] == "||":
            ors.append([[]])
        elif tok[1] == "&&":
            ors[-1].append([])
        elif tok[1] in "()":
            raise ValueError(f"rule {text!r}: parentheses are not emulated")
        else:
            ors[-1][-1].append(tok)

    def clause(toks: list[tuple[str, str]]) -> bool:
        if len(toks) == 1:
            return atom(toks[0]) is not None
        left, (_, op), right = atom(toks[0]), toks[1], atom(toks[2])
        if op in ("=~", "!~"):
            hit = left is not None and right.search(left) is not None
            return hit if op == "=~" else not hit
        return (left == right) if op == "==" else (left != right)

    return any(all(clause(c) for c in conj) for conj in ors)


def expand(value: str, variables: Mapping[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: variables.get(m.group(1), m.group(0)), value)


class GitLabRunner:
    def __init__(self, root: Path, pipeline: GitLabPipeline) -> None:
        self.root = root = fresh(root)
        self.pipeline = pipeline
        self.builds = root
        self.project_dir = root / "models"
        self.project_dir.mkdir(parents=True, exist_ok=True)
        self.env = base_env(root / "home")

    def run_job(self, path: Path, job_id: str) -> Job | None:
        """The job's result, or None when its rules keep it out of this pipeline."""
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        job_def = data[job_id]
        predefined = {"CI": "true", "GITLAB_CI": "true", "CI_PROJECT_DIR": str(self.project_dir),
                      "CI_BUILDS_DIR": str(self.builds), "CI_SERVER_HOST": "gitlab.example.com",
                      "CI_PROJECT_PATH": "acme/models", "CI_DEFAULT_BRANCH": "main",
                      "CI_JOB_TOKEN": "job-token", **self.pipeline.variables}
        variables = {**predefined, **self.pipeline.project_variables}
        rules = job_def.get("rules")
        if rules and not any(gitlab_rule(r["if"], variables) for r in rules if "if" in r):
            return None
        # job variables, expanded; project (CI/CD settings) variables take precedence
        for key, value in job_def.get("variables", {}).items():
            if key not in self.pipeline.project_variables:
                variables[key] = expand(str(value), variables)
        if variables.get("GIT_DEPTH") != "0":
            raise AssertionError("the templates need the whole history (GIT_DEPTH: 0)")
        self._clone(variables)
        job = Job(workspace=self.project_dir)
        # The cache a runner restores: the virtualenv of this checkout.
        venv = Path(variables.get("ARCHIVIST_VENV", self.project_dir / ".cache" / "venv"))
        venv.parent.mkdir(parents=True, exist_ok=True)
        if not venv.exists():
            venv.symlink_to(VENV, target_is_directory=True)
        lines = [*job_def.get("before_script", []), *job_def["script"]]
        script = ["set -eo pipefail"]
        if self.pipeline.before_line:
            # Each line announces itself and waits for the test to act (two FIFOs), so
            # something can happen elsewhere exactly between two lines.
            script.append('trap \'printf "end\\n" > "$EMU_ANNOUNCE"\' EXIT')
        for i, line in enumerate(lines):
            if self.pipeline.before_line:
                script.append(f'printf "{i}\\n" > "$EMU_ANNOUNCE"; read -r _ < "$EMU_ACK"')
            script.append(line)
        self.lines = lines
        env = {**self.env, **variables}
        job.steps.append(self._bash("script", "\n".join(script), env))
        for line in job_def.get("after_script", []):
            self._bash("after_script", line, env)  # its exit code never fails the job
        for p in job_def.get("artifacts", {}).get("paths", []):
            if (self.project_dir / p).is_file():
                job.artifacts[p] = self.project_dir / p
        return job

    def _clone(self, variables: Mapping[str, str]) -> None:
        ws, env = self.project_dir, self.env
        git(["init", "-q"], ws, env)
        git(["remote", "add", "origin", str(self.pipeline.origin)], ws, env)
        git(["fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*",
             "+refs/tags/*:refs/tags/*", *(f"+{r}:{r}" for r in self.pipeline.fetch_refs)],
            ws, env)
        git(["checkout", "-q", "--detach", variables["CI_COMMIT_SHA"]], ws, env)

    def _bash(self, name: str, script: str, env: dict[str, str]) -> Step:
        script_file = self.root / f"{name}.sh"
        script_file.write_text(script, encoding="utf-8")
        cmd = ["bash", "--noprofile", "--norc", str(script_file)]
        if self.pipeline.before_line is None or name != "script":
            done = subprocess.run(cmd, cwd=self.project_dir, env=env, capture_output=True,
                                  text=True, check=False)
            return Step(name, "success" if done.returncode == 0 else "failure",
                        done.returncode, done.stdout, done.stderr)
        announce, ack = self.root / "announce.fifo", self.root / "ack.fifo"
        for fifo in (announce, ack):
            fifo.unlink(missing_ok=True)
            os.mkfifo(fifo)
        out, err = self.root / "script.out", self.root / "script.err"
        with out.open("w") as o, err.open("w") as e:
            proc = subprocess.Popen(cmd, cwd=self.project_dir, stdout=o, stderr=e, text=True,
                                    env={**env, "EMU_ANNOUNCE": str(announce),
                                         "EMU_ACK": str(ack)})
            while True:
                said = announce.read_text().strip()
                if said == "end":
                    break
                self.pipeline.before_line(self.lines[int(said)])
                ack.write_text("go\n")
            code = proc.wait()
        return Step(name, "success" if code == 0 else "failure", code, out.read_text(),
                    err.read_text())
