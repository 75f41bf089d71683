"""The plain-HTML consent page every platform's authorize URL shows."""

from __future__ import annotations

from html import escape

from .world import Account

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<link rel="icon" href="data:,">
<title>{title}</title>
<style>
body{{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;
 padding:0 1rem}}
fieldset{{border:1px solid #ccc;border-radius:.5rem;padding:1rem}}
label{{display:block;margin:.4rem 0}}
button{{margin:.8rem .6rem 0 0;padding:.5rem 1rem}}
.scopes{{color:#555;font-size:.9rem}}
</style></head>
<body>
<h1>{title}</h1>
<p><strong>{client}</strong> wants to access your account.</p>
<p class="scopes">Requested: {scopes}</p>
<form method="post">
{hidden}
<fieldset><legend>Sandbox account</legend>
{accounts}
</fieldset>
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
<p class="scopes">Sandbox: no real {brand} account is involved.</p>
</body></html>
"""

ERROR_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>{title}</title></head>
<body><h1>{title}</h1><p>{message}</p></body></html>
"""


def consent_page(
    *,
    brand: str,
    client: str,
    scopes: list[str],
    query: dict[str, str],
    accounts: list[Account],
) -> str:
    hidden = "\n".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
        for k, v in query.items()
        if k not in {"account", "decision"}
    )
    radios = "\n".join(
        f'<label><input type="radio" name="account" value="{escape(a.id)}"'
        f"{' checked' if i == 0 else ''}> {escape(a.display_name)} "
        f"(@{escape(a.handle)})</label>"
        for i, a in enumerate(accounts)
    )
    return PAGE.format(
        title=f"Sign in with {escape(brand)} (sandbox)",
        client=escape(client),
        scopes=escape(", ".join(scopes)) or "(none)",
        hidden=hidden,
        accounts=radios,
        brand=escape(brand),
    )


def error_page(title: str, message: str) -> str:
    return ERROR_PAGE.format(title=escape(title), message=escape(message))
