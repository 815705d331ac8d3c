package web

import (
	"html"
	"strings"
)

// unreachablePage is the whole page a browser gets while Jellyfin gives no
// answer: dark and in Jellyfin's accent colour like the rest of the server,
// light only when the browser asks for it, and self-contained (no script,
// font or stylesheet to fetch while things are failing).
const unreachablePage = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark light">
<meta name="robots" content="noindex, nofollow">
<title>Jellyfin is unreachable</title>
<style>
:root{--bg:#101010;--card:#1c1c1c;--text:#e8e8e8;--muted:#a3a3a3;--accent:#00a4dc;--line:#2c2c2c}
@media (prefers-color-scheme: light){:root{--bg:#f2f2f2;--card:#fff;--text:#1b1b1b;--muted:#5c5c5c;--accent:#0085b5;--line:#ddd}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;padding:1rem;
background:var(--bg);color:var(--text);font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{width:100%;max-width:28rem;padding:1.5rem;background:var(--card);border:1px solid var(--line);
border-top:4px solid var(--accent);border-radius:12px}
h1{margin:0 0 .5rem;font-size:1.3rem}
p{margin:0 0 1rem;color:var(--muted)}
a{display:inline-block;padding:.55rem 1.1rem;border-radius:6px;background:var(--accent);color:#fff;
text-decoration:none;font-weight:600}
a:focus-visible{outline:2px solid var(--text);outline-offset:2px}
</style>
</head>
<body>
<main>
<h1>Jellyfin is unreachable</h1>
<p>%s</p>
<a href="">Try again</a>
</main>
</body>
</html>
`

// UnreachablePage is the page a browser gets while Jellyfin gives no
// answer, saying message.
func UnreachablePage(message string) []byte {
	return []byte(strings.Replace(unreachablePage, "%s", html.EscapeString(message), 1))
}
