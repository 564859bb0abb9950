"""Schemathesis hooks for .ci/api-fuzz (loaded through SCHEMATHESIS_HOOKS).

A multipart form carries every field as text. When Schemathesis makes a
"negative" reply by putting an object or a number where the schema says the
string `text`, it sends that value's JSON, which on the wire is a valid string
of text, and the API rightly takes it as the reply's words; the check that
expects a refusal would then fail on a request the schema allows. Those cases
only are dropped: the same mutation as JSON (where an object is an object) is
still sent and must be refused, and every other negative multipart case stays.
"""
import schemathesis


@schemathesis.hook.apply_to(method="POST", path_regex=r"/messages$")
def filter_case(context, case) -> bool:
    if case.media_type != "multipart/form-data" or not isinstance(case.body, dict):
        return True
    return isinstance(case.body.get("text", ""), str)
