/** The whole stylesheet: plain, readable, no framework. Served as /assets/app.css. */
export const stylesheet = `
:root { --fg: #1d2330; --muted: #5b6474; --line: #dde1e8; --bg: #f6f7f9; --card: #fff; --accent: #2457c5; --danger: #b42318; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { background: var(--card); border-bottom: 1px solid var(--line); }
header .bar, main { max-width: 62rem; margin: 0 auto; padding: 0.75rem 1.25rem; }
header .bar { display: flex; align-items: center; gap: 1rem; }
header .brand { font-weight: 700; color: var(--fg); text-decoration: none; }
header .who { margin-left: auto; color: var(--muted); }
main { padding-top: 1.5rem; padding-bottom: 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 1rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 0.75rem; }
.card h2 { margin-top: 0.25rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem; margin-bottom: 1rem; }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: 0.75rem; }
.stat { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 0.75rem 1rem; }
.stat b { display: block; font-size: 1.4rem; }
.stat span { color: var(--muted); font-size: 0.9rem; }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
th, td { text-align: left; padding: 0.5rem 0.75rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 0.85rem; color: var(--muted); font-weight: 600; }
tr:last-child td { border-bottom: 0; }
code { font: 0.85rem ui-monospace, SFMono-Regular, Menlo, monospace; background: #eef1f6; padding: 0.1rem 0.3rem; border-radius: 4px; }
form.stack { display: grid; gap: 0.75rem; max-width: 28rem; }
label { display: grid; gap: 0.25rem; font-weight: 600; font-size: 0.95rem; }
input, textarea { font: inherit; padding: 0.45rem 0.6rem; border: 1px solid #b9c0cc; border-radius: 6px; background: #fff; }
textarea { min-height: 6rem; }
button { font: inherit; padding: 0.45rem 0.9rem; border: 1px solid var(--accent); border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
button.link { background: none; border: 0; color: var(--accent); padding: 0; text-decoration: underline; }
button.danger { background: var(--danger); border-color: var(--danger); }
form.inline { display: inline; }
.actions { display: flex; gap: 0.75rem; align-items: center; }
.muted { color: var(--muted); }
.error { background: #fdecea; border: 1px solid #f5c2bd; color: var(--danger); border-radius: 6px; padding: 0.6rem 0.9rem; margin-bottom: 1rem; }
a { color: var(--accent); }
`
