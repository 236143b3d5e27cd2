"""
The documentation holds together: a short README, links that lead somewhere, no orphan page.

Plain text checks, no ROS. Each check is a function of a repository root that returns
what is wrong, one line per problem, so it runs on this repository and on a small broken
copy in ``tmp_path``, which shows that it reports what it should.

The pages checked are README.md, docs/*.md and bench/RESULTS.md. An anchor
(``page.md#some-heading``) must name a heading of the page by GitHub's rule: the
heading's text in lower case, without punctuation other than ``-``, ``_`` and spaces,
spaces turned into ``-``, and ``-1``, ``-2``, ... appended to repeated headings.
"""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
README_LIMIT_BYTES = 15_000

_FENCE = re.compile(r'^ {0,3}(```|~~~)')
_HEADING = re.compile(r'^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$')
_INLINE_LINK = re.compile(
    r'!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
_REFERENCE_DEFINITION = re.compile(r'^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$')
_SCHEME = re.compile(r'^[a-zA-Z][a-zA-Z0-9+.-]*:')


def _prose_lines(text):
    """Yield (line number, line) for the lines outside fenced code blocks."""
    fence = None
    for number, line in enumerate(text.splitlines(), 1):
        match = _FENCE.match(line)
        if match:
            if fence is None:
                fence = match.group(1)
            elif match.group(1) == fence:
                fence = None
            continue
        if fence is None:
            yield number, line


def slug(heading):
    """Return the anchor GitHub gives a heading's text (before repeats are numbered)."""
    text = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', heading)  # a link shows its text
    return re.sub(r'[^\w\- ]', '', text.lower()).replace(' ', '-')


def anchors(text):
    """Return every anchor the headings of a Markdown text define."""
    found, seen = set(), {}
    for _, line in _prose_lines(text):
        match = _HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f'{base}-{count}')
    return found


def links(text):
    """Yield (line number, target) for each link of a Markdown text, code blocks left out."""
    for number, line in _prose_lines(text):
        definition = _REFERENCE_DEFINITION.match(line)
        if definition:
            yield number, definition.group(1)
            continue
        for match in _INLINE_LINK.finditer(line):
            yield number, match.group(1)


def checked_pages(root):
    """Return the Markdown pages whose links are checked, as paths under root."""
    root = pathlib.Path(root)
    pages = [root / 'README.md', *sorted((root / 'docs').glob('*.md')),
             root / 'bench' / 'RESULTS.md']
    return [page for page in pages if page.is_file()]


def readme_size_problems(root):
    """Report the README's size if it is over the quick start's limit."""
    size = (pathlib.Path(root) / 'README.md').stat().st_size
    if size > README_LIMIT_BYTES:
        return [f'README.md is {size} bytes, over {README_LIMIT_BYTES}: move reference '
                'text to docs/ and history to bench/RESULTS.md']
    return []


def broken_links(root):
    """Report relative links of the checked pages to missing files or headings."""
    root = pathlib.Path(root).resolve()
    problems = []
    for page in checked_pages(root):
        where = page.relative_to(root)
        for number, target in links(page.read_text(encoding='utf-8')):
            if _SCHEME.match(target):
                continue  # http(s), mailto: not this test's business
            path_part, _, anchor = target.partition('#')
            destination = (page.parent / path_part).resolve() if path_part else page
            if not destination.exists():
                problems.append(f'{where}:{number}: {target}: no such file')
            elif anchor and destination.suffix == '.md' and destination.is_file():
                if anchor not in anchors(destination.read_text(encoding='utf-8')):
                    problems.append(f'{where}:{number}: {target}: no heading '
                                    f'#{anchor} in {destination.name}')
    return problems


def unlinked_pages(root):
    """Report the docs/*.md pages that README.md does not link to."""
    root = pathlib.Path(root).resolve()
    readme = root / 'README.md'
    linked = set()
    for _, target in links(readme.read_text(encoding='utf-8')):
        path_part = target.partition('#')[0]
        if path_part and not _SCHEME.match(target):
            linked.add((root / path_part).resolve())
    return [f'docs/{page.name} is not linked from README.md'
            for page in sorted((root / 'docs').glob('*.md')) if page.resolve() not in linked]


def _write(root, relative, text):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding='utf-8')


def test_readme_fits_in_15_kb():
    assert readme_size_problems(ROOT) == []


def test_relative_links_lead_to_files_and_headings():
    assert broken_links(ROOT) == []


def test_every_docs_page_is_linked_from_the_readme():
    assert unlinked_pages(ROOT) == []


def test_size_check_reports_an_oversized_readme(tmp_path):
    _write(tmp_path, 'README.md', 'x' * README_LIMIT_BYTES)
    assert readme_size_problems(tmp_path) == []
    _write(tmp_path, 'README.md', 'x' * (README_LIMIT_BYTES + 1))
    problems = readme_size_problems(tmp_path)
    assert len(problems) == 1 and f'{README_LIMIT_BYTES + 1} bytes' in problems[0]


def test_link_check_reports_missing_files_and_headings(tmp_path):
    _write(tmp_path, 'README.md', '\n'.join([
        '# Top',
        '[fine](docs/a.md#training-actor-learner-monitoring)',
        '[code heading](docs/a.md#the-hilserl-demo-command) and [again](docs/a.md#again-1)',
        '[missing file](docs/gone.md)',
        '[missing heading](docs/a.md#not-there)',
        '[same page](#top) [same page, wrong](#bottom)',
        '[web](https://example.com/x.md#y) [source](src/x.py)',
        '```bash',
        '[inside a code block](docs/ignored.md)',
        '# not a heading',
        '```',
        '[ref]: docs/also-gone.md',
    ]))
    _write(tmp_path, 'src/x.py', '')
    _write(tmp_path, 'docs/a.md', '\n'.join([
        '# Training: actor, learner, monitoring',
        '## The `hilserl demo` command',
        '## Again', '## Again',
        '[back](../README.md#not-a-heading) [up](../README.md#top)',
    ]))
    assert broken_links(tmp_path) == [
        'README.md:4: docs/gone.md: no such file',
        'README.md:5: docs/a.md#not-there: no heading #not-there in a.md',
        'README.md:6: #bottom: no heading #bottom in README.md',
        'README.md:12: docs/also-gone.md: no such file',
        'docs/a.md:5: ../README.md#not-a-heading: no heading #not-a-heading in README.md',
    ]


def test_page_check_reports_an_unlinked_page(tmp_path):
    _write(tmp_path, 'README.md', 'See [setup](docs/setup.md#how).\n')
    _write(tmp_path, 'docs/setup.md', '# How\n')
    assert unlinked_pages(tmp_path) == []
    _write(tmp_path, 'docs/orphan.md', '# Nobody links here\n')
    assert unlinked_pages(tmp_path) == ['docs/orphan.md is not linked from README.md']
