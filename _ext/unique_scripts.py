"""Drop repeated inline <script> blocks from every page.

Sphinx 7.4 registers a script that an extension adds after the builder started
(sphinx-thebe's `const THEBE_JS_URL = ...`, sphinx-togglebutton's settings) twice;
the second `const` declaration is a SyntaxError in the browser.
"""


def _unique(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (script.filename or "", tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _unique, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
