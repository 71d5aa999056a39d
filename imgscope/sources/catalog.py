"""A registry's repositories and their tags, as image references (``imgscope batch --registry-catalog``).

``catalog_references("HOST/PREFIX")`` lists the repositories of the registry at HOST (the distribution catalog,
``GET /v2/_catalog``), keeps those at or under PREFIX (whole path components: ``team`` keeps ``team`` and
``team/app``, not ``teamwork``), lists each one's tags (``GET /v2/<name>/tags/list``) and returns one
``docker://HOST/REPO:TAG`` per tag. Both lists are paginated: ``n`` asks for a page size, the ``Link`` header
(``rel="next"``) names the next page; a registry that sends no ``Link`` after a full page is asked again with
``last=``. Requests go through ``registry.Registry``: the same auth (files, helpers, tokens), ``--insecure`` and
plain HTTP for localhost, timeouts and one-line errors.

A registry that will not list its repositories (403/404 on the catalog, as Docker Hub answers) is a
``RegistryError`` naming the registry; one that asks for credentials (401) says which it had, as any pull does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from imgscope.errors import RegistryError, UsageError, option
from imgscope.sources.reference import ImageReference, SourceOptions
from imgscope.sources.registry import Registry, api_host

#: Entries asked for per page (registries cap it: distribution at 1000 by default).
PAGE_SIZE = 1000
#: A page's JSON larger than this is refused (a 1000-name page is well under 1 MiB).
MAX_PAGE_BYTES = 16 << 20
#: More pages than this is a registry sending us round in circles.
MAX_PAGES = 100_000

_DOMAIN_RE = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
_PREFIX_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*")
_LINK_RE = re.compile(r'<([^>]*)>\s*;[^,]*?\brel\s*=\s*"?next"?', re.IGNORECASE)


@dataclass(frozen=True)
class CatalogSpec:
    """``HOST[/REPO-PREFIX]``: a registry and the part of its catalog wanted (``prefix`` empty: all of it)."""

    domain: str
    prefix: str = ""

    def __str__(self) -> str:
        return f"{self.domain}/{self.prefix}" if self.prefix else self.domain

    def covers(self, repository: str) -> bool:
        """True for a repository at or under the prefix (whole path components)."""
        return not self.prefix or repository == self.prefix or repository.startswith(self.prefix + "/")


def parse_catalog_spec(text: str) -> CatalogSpec:
    """``HOST[/REPO-PREFIX]`` (a leading ``docker://`` is allowed) as a ``CatalogSpec``; a bad one is a
    ``UsageError`` naming ``registry_catalog`` (``--registry-catalog``)."""
    spec = text.strip().removeprefix("docker://")
    domain, _, prefix = spec.partition("/")
    prefix = prefix.strip("/")
    if not _DOMAIN_RE.fullmatch(domain):
        raise UsageError(option("registry_catalog"), f"{text!r} does not start with a registry host (HOST[:PORT])")
    if prefix and not _PREFIX_RE.fullmatch(prefix):
        raise UsageError(option("registry_catalog"), f"{text!r}: {prefix!r} is not a repository path")
    return CatalogSpec(domain, prefix)


def _next_link(header: str | None) -> str | None:
    if not header:
        return None
    match = _LINK_RE.search(header)
    return match.group(1) if match else None


def _pages(registry: Registry, url: httpx.URL, key: str, what: str, page_size: int) -> Iterator[list[str]]:
    """The new names in each page of a paginated list (``key`` of its JSON), following ``Link`` (or ``last=``).

    A registry that refuses the page size (distribution answers 400 when ``n`` is above its cap) is asked again
    without one; one that ignores ``n`` (tags lists before distribution 3) answers with the whole list at once.
    """
    seen_urls: set[str] = set()
    seen: set[str] = set()
    sized = True
    next_url: httpx.URL | None = url.copy_merge_params({"n": page_size})
    while next_url is not None:
        if str(next_url) in seen_urls or len(seen_urls) >= MAX_PAGES:
            raise RegistryError(registry.where, f"the {what} pages go round in circles at {next_url.path}")
        seen_urls.add(str(next_url))
        try:
            response = registry.get(next_url, headers={"Accept": "application/json"}, what=f"the {what}")
        except RegistryError as exc:
            if exc.status == 400 and sized and len(seen_urls) == 1:
                sized, next_url = False, url  # the page size is above the registry's cap: take its own
                continue
            raise
        link, here = _next_link(response.headers.get("Link")), response.url
        body = registry._read_small(response, MAX_PAGE_BYTES, f"a page of the {what}")
        try:
            doc = json.loads(body)
        except ValueError:
            raise RegistryError(registry.where, f"a page of the {what} is not JSON") from None
        names = doc.get(key) if isinstance(doc, dict) else None
        names = [] if names is None else names
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise RegistryError(registry.where, f"the {what}'s {key!r} is not a list of names")
        new = [n for n in names if n not in seen]
        seen.update(new)
        yield new
        if link is not None:
            next_url = here.join(link)
        elif sized and names and len(names) == page_size and new:  # a full page and no Link: what follows?
            next_url = url.copy_merge_params({"n": page_size, "last": names[-1]})
        else:
            next_url = None


def _registry(domain: str, repository: str, options: SourceOptions | None) -> Registry:
    return Registry(ImageReference(domain, repository, "latest"), options)


def list_repositories(
    spec: str | CatalogSpec, *, options: SourceOptions | None = None, page_size: int = PAGE_SIZE
) -> list[str]:
    """The repositories of the registry ``spec`` names that are at or under its prefix, in catalog order."""
    spec = spec if isinstance(spec, CatalogSpec) else parse_catalog_spec(spec)
    registry = _registry(spec.domain, spec.prefix or "catalog", options)
    registry.where = spec.domain
    url = httpx.URL(f"{registry.base.scheme}://{api_host(spec.domain)}/v2/_catalog")
    found: list[str] = []
    try:
        for names in _pages(registry, url, "repositories", "catalog", page_size):
            found += [n for n in names if spec.covers(n)]
    except RegistryError as exc:
        if exc.status == 401:  # it may list them to someone it knows: say what the credentials were
            raise RegistryError(spec.domain, f"listing its repositories: {exc.problem}", exc.status) from None
        if exc.status in (403, 404):
            raise RegistryError(
                spec.domain,
                f"the registry does not list its repositories (the catalog API answered {exc.status}); "
                "name its images instead",
                exc.status,
            ) from None
        raise
    finally:
        registry.close()
    return found


def list_tags(
    domain: str, repository: str, *, options: SourceOptions | None = None, page_size: int = PAGE_SIZE
) -> list[str]:
    """The tags of ``repository`` on ``domain``, in the registry's order (none for a repository it does not know)."""
    registry = _registry(domain, repository, options)
    registry.where = f"{domain}/{repository}"
    tags: list[str] = []
    try:
        for names in _pages(registry, registry.base.join("tags/list"), "tags", "tags list", page_size):
            tags += names
    except RegistryError as exc:
        if exc.status != 404:  # a repository listed but gone, or with every tag deleted: nothing to analyze
            raise
    finally:
        registry.close()
    return tags


def catalog_references(
    spec: str | CatalogSpec, *, options: SourceOptions | None = None, page_size: int = PAGE_SIZE
) -> list[str]:
    """``docker://HOST/REPO:TAG`` for every tag of every repository at or under ``spec``'s prefix."""
    spec = spec if isinstance(spec, CatalogSpec) else parse_catalog_spec(spec)
    return [
        f"docker://{spec.domain}/{repository}:{tag}"
        for repository in list_repositories(spec, options=options, page_size=page_size)
        for tag in list_tags(spec.domain, repository, options=options, page_size=page_size)
    ]
