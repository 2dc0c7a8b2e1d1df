"""The HTML of the demo-user picker (the provider's "login page") and of its error page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from web_bff.dev_oidc.demo_users import STAFF, DemoAccount

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#1d2433}
h1{font-size:1.3rem} fieldset{border:1px solid #c8cdd8;border-radius:.5rem;margin:1rem 0;padding:1rem}
button{font:inherit;padding:.6rem 1rem;border-radius:.4rem;border:1px solid #2a5bd7;background:#2a5bd7;
color:#fff;cursor:pointer;margin:.25rem 0;width:100%} input{font:inherit;padding:.5rem;width:100%;
box-sizing:border-box;margin:.25rem 0 .5rem} label{display:block;font-weight:600} .note{color:#5b6475;font-size:.9rem}
"""


def _hidden_fields(params: Mapping[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">' for name, value in params.items()
    )


def picker_page(*, action: str, params: Mapping[str, str], client_id: str, demo: Sequence[DemoAccount] = ()) -> str:
    hidden = _hidden_fields(params)
    demo_buttons = "".join(
        f'<button type="submit" name="user" value="customer:{escape(str(a.account_id))}">{escape(a.name)}</button>'
        + (f'<p class="note">{escape(a.blurb)}</p>' if a.blurb else "")
        for a in demo
    )
    demo_form = (
        f'<form method="post" action="{escape(action)}">{hidden}'
        f"<fieldset><legend>Demo customers</legend>{demo_buttons}</fieldset></form>"
        if demo
        else ""
    )
    staff_buttons = "".join(
        f'<button type="submit" name="user" value="{escape(key)}">Sign in as {escape(user.name)} '
        f"({escape(', '.join(user.roles))})</button>"
        for key, user in STAFF.items()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Development sign-in</title><style>{_STYLE}</style></head>
<body><main>
<h1>Development sign-in</h1>
<p class="note">A demo identity provider for local runs. <strong>{escape(client_id)}</strong> asks who you are.</p>
<form method="post" action="{escape(action)}">{hidden}
<fieldset><legend>Staff</legend>{staff_buttons}</fieldset>
</form>
{demo_form}
<form method="post" action="{escape(action)}">{hidden}
<fieldset><legend>Customer of an account id</legend>
<label for="account_id">Account id</label>
<input id="account_id" name="account_id" required pattern="[0-9a-fA-F-]{{36}}" placeholder="the customer's account id">
<button type="submit" name="user" value="customer">Sign in as this account's customer</button>
</fieldset>
</form>
</main></body></html>"""


def error_page(*, message: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in refused</title><style>{_STYLE}</style></head>
<body><main><h1>Sign-in refused</h1><p role="alert">{escape(message)}</p></main></body></html>"""
