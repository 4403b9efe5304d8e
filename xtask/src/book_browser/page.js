// The checks `cargo xtask book-browser` runs inside each page of the book.
// bookBrowserChecks() resolves to a JSON string: {problems, counts}, the
// problems a list of {check, message}, the counts what was looked at
// ({folds, lines, tables}: folds opened, lines of box drawings measured,
// tables measured). It opens every fold first: the code blocks and tables
// inside a closed fold have no layout to measure.
async function bookBrowserChecks() {
    const problems = [];
    const counts = { folds: 0, lines: 0, tables: 0 };
    const say = (check, message) => problems.push({ check, message });
    const main = document.querySelector('main') || document.body;
    const short = (text, n = 50) => {
        const one = text.replace(/\s+/g, ' ').trim();
        return one.length > n ? one.slice(0, n - 1) + '…' : one;
    };
    await document.fonts.ready;

    // Folds: each <details> has a <summary>; a click on it opens the fold,
    // and what the fold holds then takes room on the page.
    const folds = Array.from(main.querySelectorAll('details'));
    folds.forEach((details, i) => {
        counts.folds += 1;
        const summary = details.querySelector(':scope > summary');
        const name = `fold ${i + 1}` + (summary ? ` ("${short(summary.textContent, 40)}")` : '');
        if (!summary) {
            say('folds', `${name} has no <summary> to click`);
            details.open = true;
            return;
        }
        details.open = false;
        summary.click();
        if (!details.open) {
            say('folds', `${name} does not open when its summary is clicked`);
            details.open = true;
            return;
        }
        const content = document.createRange();
        content.setStartAfter(summary);
        content.setEnd(details, details.childNodes.length);
        const height = content.getBoundingClientRect().height;
        const text = content.toString().trim();
        if (height < 1 || text === '' && !details.querySelector(':scope img, :scope pre')) {
            say('folds', `${name} opens to nothing (its content is ${height.toFixed(0)}px high` +
                `${text === '' ? ', no text' : ''}): is its </details> too early, or its content outside?`);
        }
    });

    // Box drawings: in a code block with box-drawing characters or arrows,
    // every line is as wide as its characters times one character's width.
    const special = /[\u2190-\u21FF\u2500-\u259F\u25A0-\u25FF\u27F0-\u27FF\u2900-\u297F]/;
    // Characters two columns wide in a terminal (CJK, Hangul, fullwidth
    // forms, emoji): a browser without a font for them draws a one-column
    // box, which measures right here and breaks the drawing elsewhere.
    const wide = /[\u1100-\u115F\u2E80-\u303E\u3041-\u33FF\u3400-\u4DBF\u4E00-\u9FFF\uA000-\uA4CF\uAC00-\uD7A3\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFF60\uFFE0-\uFFE6]|\p{Emoji_Presentation}/u;
    const segmenter = new Intl.Segmenter();
    const blocks = Array.from(main.querySelectorAll('pre'));
    blocks.forEach((pre, b) => {
        const code = pre.querySelector('code') || pre;
        const all = code.textContent;
        if (!special.test(all) || code.getClientRects().length === 0) {
            return;
        }
        const probe = document.createElement('span');
        probe.textContent = 'x'.repeat(100);
        code.appendChild(probe);
        const one = probe.getBoundingClientRect().width / 100;
        probe.remove();
        // Where each character of the block's text is: (text node, offset).
        const nodes = [];
        const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
        let start = 0;
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            nodes.push({ node, start, end: start + node.data.length });
            start += node.data.length;
        }
        const at = offset => {
            for (const n of nodes) {
                if (offset <= n.end) {
                    return [n.node, offset - n.start];
                }
            }
            const last = nodes[nodes.length - 1];
            return [last.node, last.node.data.length];
        };
        let offset = 0;
        all.split('\n').forEach((line, l) => {
            const lineStart = offset;
            offset += line.length + 1;
            if (line.trim() === '') {
                return;
            }
            let columns = 0;
            for (const { segment } of segmenter.segment(line)) {
                columns = segment === '\t' ? (Math.floor(columns / 8) + 1) * 8 : columns + 1;
            }
            const range = document.createRange();
            range.setStart(...at(lineStart));
            range.setEnd(...at(lineStart + line.length));
            const width = range.getBoundingClientRect().width;
            if (width === 0) {
                return; // a hidden line (mdBook hides some lines of Rust)
            }
            counts.lines += 1;
            const wideOne = line.match(wide);
            if (wideOne) {
                say('boxes', `code block ${b + 1}, line ${l + 1} ("${short(line)}") has "${wideOne[0]}", ` +
                    `two columns wide in a terminal and in fonts that have it: the drawing breaks`);
                return;
            }
            const expected = columns * one;
            if (Math.abs(width - expected) > one / 4) {
                const off = (width - expected) / one;
                say('boxes', `code block ${b + 1}, line ${l + 1} ("${short(line)}") is ` +
                    `${width.toFixed(1)}px wide, but its ${columns} characters make ` +
                    `${expected.toFixed(1)}px (${off > 0 ? '+' : ''}${off.toFixed(2)} characters): ` +
                    `a character drawn from another font, or one that is not one column wide`);
            }
        });
    });

    // Tables: none wider than the page's content column.
    const column = main.getBoundingClientRect();
    Array.from(main.querySelectorAll('table')).forEach((table, t) => {
        counts.tables += 1;
        const box = table.parentElement;
        const head = short(table.rows.length ? table.rows[0].textContent : '', 40);
        const right = table.getBoundingClientRect().right;
        if (box.scrollWidth > box.clientWidth + 1 || right > column.right + 1) {
            say('tables', `table ${t + 1} ("${head}") is ${table.scrollWidth}px wide, ` +
                `the content column ${Math.round(column.width)}px: split it or make it a list`);
        }
    });
    return JSON.stringify({ problems, counts });
}

// Opens mdBook's search, searches each term and resolves to a JSON string:
// for each term, the pages (without #fragment) of the results.
async function bookBrowserSearch(terms) {
    const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
    const toggle = document.getElementById('mdbook-search-toggle');
    const bar = document.getElementById('mdbook-searchbar');
    const outer = document.getElementById('mdbook-searchbar-outer');
    const results = document.getElementById('mdbook-searchresults');
    if (!toggle || !bar || !results) {
        return JSON.stringify({ error: 'no search box on the page (is search on in book.toml?)' });
    }
    toggle.click();
    for (let i = 0; i < 200; i++) {
        if (document.getElementById('mdbook-search-index') && !outer.classList.contains('searching')) {
            break;
        }
        await sleep(25);
    }
    if (outer.classList.contains('searching')) {
        return JSON.stringify({ error: 'the search index did not load within 5 s' });
    }
    const found = {};
    for (const term of terms) {
        bar.value = term;
        bar.dispatchEvent(new KeyboardEvent('keyup', { bubbles: true }));
        await sleep(0);
        found[term] = Array.from(results.querySelectorAll('a'))
            .map(a => new URL(a.href, location.href).pathname.replace(/^\//, ''));
    }
    return JSON.stringify({ found });
}
