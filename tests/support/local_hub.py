"""A Hugging Face Hub served on 127.0.0.1 for tests: `push_to_hub`, `hf_hub_download`, `snapshot_download` and
`from_pretrained("user/repo")` run against it in child processes (huggingface_hub reads HF_ENDPOINT at import), so
that a pushed model is proven to load back through the Hub protocol. Model repos and regular (non-LFS, non-Xet)
uploads only; any other endpoint answers 501 (an endpoint that breaks, 500 with its traceback), and either fails
the `local_hub` fixture at teardown.
"""

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

USER = "zoo-user"  # the account the token belongs to: the namespace of `create_repo("name")` without one
TOKEN = "hf_local_hub_dummy_token"  # write endpoints answer 401 to any other Authorization header
_INITIAL_FILES = {".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"}  # as the Hub creates


class HubError(Exception):
    """An error answer in the Hub's format: status, `X-Error-Code` (what huggingface_hub maps to an exception,
    e.g. RepoNotFound -> RepositoryNotFoundError) and message."""

    def __init__(self, status: int, code: str | None, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


@dataclass
class _Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _json(payload, status: int = 200) -> _Response:
    return _Response(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})


def git_blob_id(content: bytes) -> str:
    """The git object id of a file, which the Hub uses as the ETag and tree `oid` of a regular file (and which
    huggingface_hub compares with the preupload `oid` to skip unchanged files)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class _Repo:
    branches: dict[str, str] = field(default_factory=dict)  # branch name -> commit sha
    commits: dict[str, dict[str, str]] = field(default_factory=dict)  # commit sha -> {path: blob id}

    def commit_of(self, revision: str) -> str:
        sha = self.branches.get(revision, revision)
        if sha not in self.commits:
            raise HubError(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return sha


class LocalHub:
    """The server: repositories live in memory as commits of `{path: blob id}`, file contents in `storage/blobs`.

    Attributes:
        endpoint: "http://127.0.0.1:PORT", the HF_ENDPOINT of child processes.
        log: one line per request, "METHOD /path?query -> status", in arrival order.
    """

    def __init__(self, storage: Path):
        self._blobs = Path(storage) / "blobs"
        self._blobs.mkdir(parents=True, exist_ok=True)
        self._repos: dict[str, _Repo] = {}
        self._lock = threading.Lock()  # the server answers each request in its own thread
        self.log: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _HubRequestHandler)
        self._server.hub = self
        self.endpoint = f"http://127.0.0.1:{self._server.server_port}"
        # a short poll interval: close() waits up to one interval for the serving loop to notice
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name="local-hub", daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def env(self, home: str | os.PathLike[str]) -> dict[str, str]:
        """The environment of a child process that pushes to / downloads from this hub: the current one without
        its HF_* / HUGGINGFACE_* / TRANSFORMERS_* settings (offline switches, shared caches), plus an endpoint, a
        token, and caches (HF_HOME, HF_MODULES_CACHE) under `home`.

        HF_HUB_DISABLE_XET keeps uploads on the plain HTTP path: with hf_xet installed, `upload_folder` would
        otherwise go through the Xet upload pipeline."""
        env = {name: value for name, value in os.environ.items()
               if not name.startswith(("HF_", "HUGGINGFACE_", "TRANSFORMERS_"))}
        no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1,localhost"]))
        env.update(
            HF_ENDPOINT=self.endpoint,
            HF_TOKEN=TOKEN,
            HF_HOME=str(home),
            HF_MODULES_CACHE=str(Path(home) / "modules"),
            HF_HUB_DISABLE_TELEMETRY="1",
            HF_HUB_DISABLE_XET="1",
            HF_HUB_DISABLE_PROGRESS_BARS="1",
            NO_PROXY=no_proxy,
            no_proxy=no_proxy,
        )
        return env

    def files(self, repo_id: str, revision: str = "main") -> list[str]:
        """The paths stored in `repo_id` at `revision` (a branch or a commit sha), sorted."""
        return sorted(self._tree(repo_id, revision)[1])

    def read(self, repo_id: str, path: str, revision: str = "main") -> bytes:
        """The content of one stored file."""
        return (self._blobs / self._tree(repo_id, revision)[1][path]).read_bytes()

    @property
    def server_errors(self) -> list[str]:
        """The log lines of requests the hub could not answer: no endpoint (501) or a broken one (500)."""
        return [line for line in self.log if line.endswith((" 500", " 501"))]

    # Storage

    def _repo(self, repo_id: str) -> _Repo:
        if repo_id not in self._repos:
            raise HubError(404, "RepoNotFound", f"Repository not found: {repo_id}")
        return self._repos[repo_id]

    def _tree(self, repo_id: str, revision: str) -> tuple[str, dict[str, str]]:
        """(commit sha, {path: blob id}) of `revision`."""
        with self._lock:
            repo = self._repo(repo_id)
            sha = repo.commit_of(revision)
            return sha, dict(repo.commits[sha])

    def _store_blob(self, content: bytes) -> str:
        blob_id = git_blob_id(content)
        (self._blobs / blob_id).write_bytes(content)
        return blob_id

    def _commit(self, repo: _Repo, branch: str, files: dict[str, str], summary: str) -> str:
        """Record `files` as a new commit on `branch`; the sha hashes parent, message and tree, as git's does."""
        parent = repo.branches.get(branch)
        sha = hashlib.sha1(json.dumps([parent, summary, sorted(files.items())]).encode()).hexdigest()
        repo.commits[sha] = files
        repo.branches[branch] = sha
        return sha

    # Endpoints: each takes the URL's named groups (unquoted), the query and the request body.

    def whoami(self, query: dict, body: bytes) -> _Response:
        return _json({"type": "user", "name": USER, "fullname": USER, "orgs": [],
                      "auth": {"type": "access_token", "accessToken": {"displayName": "local-hub", "role": "write"}}})

    def validate_yaml(self, query: dict, body: bytes) -> _Response:
        return _json({"errors": [], "warnings": []})

    def create_repo(self, query: dict, body: bytes) -> _Response:
        payload = json.loads(body)
        if payload.get("type", "model") != "model":
            raise HubError(501, None, f"local hub: only model repos are implemented, not {payload['type']!r}")
        repo_id = f"{payload.get('organization') or USER}/{payload['name']}"
        url = f"{self.endpoint}/{repo_id}"
        with self._lock:
            if repo_id in self._repos:
                # huggingface_hub reads "url" from the 409 too when exist_ok=True
                return _json({"error": "You already created this model repo", "url": url}, status=409)
            repo = self._repos[repo_id] = _Repo()
            files = {path: self._store_blob(content) for path, content in _INITIAL_FILES.items()}
            self._commit(repo, "main", files, "initial commit")
        return _json({"url": url, "name": repo_id, "id": repo_id})

    def create_branch(self, query: dict, body: bytes, repo: str, branch: str) -> _Response:
        starting_point = (json.loads(body) if body else {}).get("startingPoint") or "main"
        with self._lock:
            hub_repo = self._repo(repo)
            if branch in hub_repo.branches:
                return _json({"error": f"Reference already exists: refs/heads/{branch}"}, status=409)
            hub_repo.branches[branch] = hub_repo.commit_of(starting_point)
        return _json({})

    def repo_info(self, query: dict, body: bytes, repo: str, rev: str | None) -> _Response:
        sha, files = self._tree(repo, rev or "main")
        siblings = [{"rfilename": path, "size": self._size(blob), "blobId": blob}
                    for path, blob in sorted(files.items())]
        return _json({"id": repo, "modelId": repo, "author": repo.split("/")[0], "sha": sha, "private": False,
                      "disabled": False, "gated": False, "tags": [], "siblings": siblings})

    def preupload(self, query: dict, body: bytes, repo: str, rev: str) -> _Response:
        self._reject_pull_requests(query)
        _, files = self._tree(repo, rev)
        # Every file is "regular" (its content travels base64-encoded in the commit): no LFS or Xet upload step.
        return _json({"files": [{"path": entry["path"], "uploadMode": "regular", "shouldIgnore": False,
                                 "oid": files.get(entry["path"])} for entry in json.loads(body)["files"]]})

    def commit(self, query: dict, body: bytes, repo: str, rev: str) -> _Response:
        self._reject_pull_requests(query)
        header, *operations = [json.loads(line) for line in body.splitlines() if line.strip()]
        with self._lock:
            hub_repo = self._repo(repo)
            if rev not in hub_repo.branches:
                raise HubError(404, "RevisionNotFound", f"Invalid rev id: {rev} (commits go to a branch)")
            files = dict(hub_repo.commits[hub_repo.branches[rev]])
            for operation in operations:
                key, value = operation["key"], operation["value"]
                path = value["path"]
                if key == "file":
                    files[path] = self._store_blob(base64.b64decode(value["content"]))
                elif key == "deletedFile":
                    if files.pop(path, None) is None:
                        raise HubError(404, "EntryNotFound", f"A file with this name doesn't exist: {path}")
                elif key == "deletedFolder":
                    prefix = path.rstrip("/") + "/"
                    files = {name: blob for name, blob in files.items() if not name.startswith(prefix)}
                else:
                    raise HubError(501, None, f"local hub: commit operation {key!r} (LFS/Xet) is not implemented")
            sha = self._commit(hub_repo, rev, files, header["value"]["summary"])
        return _json({"success": True, "commitOid": sha, "commitUrl": f"{self.endpoint}/{repo}/commit/{sha}",
                      "hookOutput": ""})

    def tree(self, query: dict, body: bytes, repo: str, rev: str, path: str | None) -> _Response:
        _, files = self._tree(repo, rev)
        prefix = f"{path.rstrip('/')}/" if path else ""
        recursive = query.get("recursive", ["false"])[0].lower() == "true"
        entries = {}
        for name, blob in sorted(files.items()):
            if not name.startswith(prefix):
                continue
            parts = name[len(prefix):].split("/")
            if recursive:  # every folder on the way, then the file
                for depth in range(1, len(parts)):
                    folder = prefix + "/".join(parts[:depth])
                    entries[folder] = self._folder_entry(folder)
            elif len(parts) > 1:  # only the first level: the folder that holds the file
                entries[prefix + parts[0]] = self._folder_entry(prefix + parts[0])
                continue
            entries[name] = self._file_entry(name, blob)
        if path and not entries:
            raise HubError(404, "EntryNotFound", f"{path} does not exist at {rev}")
        return _json(list(entries.values()))

    def paths_info(self, query: dict, body: bytes, repo: str, rev: str) -> _Response:
        _, files = self._tree(repo, rev)
        entries = []
        for path in parse_qs(body.decode())["paths"]:
            if path in files:
                entries.append(self._file_entry(path, files[path]))
            elif any(name.startswith(path.rstrip("/") + "/") for name in files):
                entries.append(self._folder_entry(path))
        return _json(entries)

    def resolve(self, query: dict, body: bytes, repo: str, rev: str, path: str) -> _Response:
        sha, files = self._tree(repo, rev)
        if path not in files:
            # huggingface_hub caches the miss under X-Repo-Commit
            raise HubError(404, "EntryNotFound", f"{path} does not exist at {rev}", {"X-Repo-Commit": sha})
        content = (self._blobs / files[path]).read_bytes()
        return _Response(200, content, {"Content-Type": "application/octet-stream", "X-Repo-Commit": sha,
                                        "ETag": f'"{files[path]}"'})

    # Endpoint helpers

    def _size(self, blob_id: str) -> int:
        return (self._blobs / blob_id).stat().st_size

    def _file_entry(self, path: str, blob_id: str) -> dict:
        return {"type": "file", "path": path, "size": self._size(blob_id), "oid": blob_id}

    @staticmethod
    def _folder_entry(path: str) -> dict:
        return {"type": "directory", "path": path, "oid": hashlib.sha1(path.encode()).hexdigest()}

    @staticmethod
    def _reject_pull_requests(query: dict) -> None:
        if "create_pr" in query:
            raise HubError(501, None, "local hub: pull requests (create_pr=True) are not implemented")


_REPO = r"(?P<repo>[^/]+/[^/]+)"
_REV = r"(?P<rev>[^/]+)"  # huggingface_hub quotes revisions with safe="", so "refs/pr/1" is one segment
# (method, full-match pattern of the quoted URL path, LocalHub method). Anything else answers 501.
_ROUTES: list[tuple[str, re.Pattern, Callable]] = [
    (method, re.compile(pattern), endpoint)
    for method, pattern, endpoint in [
        ("GET", r"/api/whoami-v2", LocalHub.whoami),
        ("POST", r"/api/validate-yaml", LocalHub.validate_yaml),
        ("POST", r"/api/repos/create", LocalHub.create_repo),
        ("GET", rf"/api/models/{_REPO}(?:/revision/{_REV})?", LocalHub.repo_info),
        ("POST", rf"/api/models/{_REPO}/branch/(?P<branch>[^/]+)", LocalHub.create_branch),
        ("POST", rf"/api/models/{_REPO}/preupload/{_REV}", LocalHub.preupload),
        ("POST", rf"/api/models/{_REPO}/commit/{_REV}", LocalHub.commit),
        ("GET", rf"/api/models/{_REPO}/tree/{_REV}(?:/(?P<path>.+))?", LocalHub.tree),
        ("POST", rf"/api/models/{_REPO}/paths-info/{_REV}", LocalHub.paths_info),
        ("HEAD", rf"/{_REPO}/resolve/{_REV}/(?P<path>.+)", LocalHub.resolve),
        ("GET", rf"/{_REPO}/resolve/{_REV}/(?P<path>.+)", LocalHub.resolve),
    ]
]


class _HubRequestHandler(BaseHTTPRequestHandler):
    """Dispatches each request to a `LocalHub` endpoint through `_ROUTES` and logs it in `hub.log`."""

    def do_GET(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def log_message(self, format, *args):
        """Silence the default per-request line on stderr: requests go to `hub.log`."""

    def _dispatch(self) -> None:
        hub: LocalHub = self.server.hub
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            if self.command == "POST" and self.headers.get("Authorization") != f"Bearer {TOKEN}":
                raise HubError(401, None, "Invalid credentials in Authorization header")
            for method, pattern, endpoint in _ROUTES:
                match = pattern.fullmatch(url.path)
                if method == self.command and match:
                    groups = {name: unquote(value) if value else value for name, value in match.groupdict().items()}
                    response = endpoint(hub, parse_qs(url.query), body, **groups)
                    break
            else:
                raise HubError(501, None, f"local hub: no endpoint for {self.command} {url.path}")
        except HubError as error:
            response = _json({"error": error.message}, status=error.status)
            response.headers.update(error.headers, **{"X-Error-Message": error.message})
            if error.code:
                response.headers["X-Error-Code"] = error.code
        except Exception:  # a bug of the local hub: answer it rather than drop the connection
            response = _Response(500, traceback.format_exc().encode(), {"Content-Type": "text/plain"})
        hub.log.append(f"{self.command} {self.path} -> {response.status}")
        self.send_response(response.status)
        for name, value in {**response.headers, "Content-Length": str(len(response.body))}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)


def run_child(
    script: str, args: Sequence[str | os.PathLike[str]] = (), *, env: dict[str, str], cwd: str | os.PathLike[str],
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """Run `python -c script *args` and assert that it exits with 0, showing its stdout and stderr if not.

    stdin is empty, so that a prompt (transformers asks "Do you wish to run the custom code?" when
    `trust_remote_code` is not passed) gets an immediate "no" instead of waiting for its 15 s timeout."""
    done = subprocess.run([sys.executable, "-c", script, *map(str, args)], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (
        f"child process exited with {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    )
    return done


@pytest.fixture
def local_hub(tmp_path_factory):
    """A `LocalHub` running for one test; fails the test at teardown if any request hit a missing or broken
    endpoint (some callers swallow HTTP errors and fall back, which would hide it)."""
    hub = LocalHub(tmp_path_factory.mktemp("local_hub"))
    yield hub
    hub.close()
    assert not hub.server_errors, "requests the local hub could not answer:\n" + "\n".join(hub.server_errors)
