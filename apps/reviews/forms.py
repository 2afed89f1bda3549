from django import forms

from apps.designdocs.models import DesignDoc, Prompt
from apps.reviews.models import COMMENT_MAX_CHARS, COMMENTS_PER_DOC, Comment


class CommentForm(forms.Form):
    """A comment's text; for a new one also where it goes: a prompt's answer (by key), the whole
    doc (no key), or a reply in a thread (``parent``)."""

    body = forms.CharField(
        label="Comment", strip=False, widget=forms.Textarea(attrs={"rows": 6}),
        help_text=f"Markdown; up to {COMMENT_MAX_CHARS:,} characters.",
        error_messages={"required": "Write something first."},
    )  # fmt: skip
    # Where a new comment goes; wrong values are the form's errors (hidden fields show none).
    prompt = forms.CharField(required=False, max_length=60, widget=forms.HiddenInput)
    parent = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)

    def __init__(self, *args, doc: DesignDoc, editing: Comment | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.doc, self.editing = doc, editing

    def clean_body(self):
        # A NUL character cannot be stored (PostgreSQL refuses it) and is never typed on purpose.
        body = self.cleaned_data["body"].replace("\x00", "")
        if not body.strip():
            raise forms.ValidationError("Write something first.")
        if len(body) > COMMENT_MAX_CHARS:
            raise forms.ValidationError(
                f"This comment is {len(body):,} characters and the limit is "
                f"{COMMENT_MAX_CHARS:,}. Your text stays here; shorten it or split it into "
                "two comments."
            )
        return body

    def clean(self):
        cleaned = super().clean()
        if self.editing:
            cleaned["prompt"] = cleaned["parent"] = None
            return cleaned
        if self.doc.comments.count() >= COMMENTS_PER_DOC:
            raise forms.ValidationError(
                f"This doc has {COMMENTS_PER_DOC:,} comments, the most one doc holds; "
                "resolve and delete some first."
            )
        cleaned["prompt"] = self._prompt(cleaned.get("prompt") or "")
        cleaned["parent"] = self._parent(cleaned.get("parent") or "")
        return cleaned

    def _prompt(self, key: str) -> Prompt | None:
        if not key:
            return None
        prompt = Prompt.objects.filter(key=key).first()
        if prompt is None:
            raise forms.ValidationError("That question is not in the template any more.")
        return prompt

    def _parent(self, raw: str) -> Comment | None:
        if not raw:
            return None
        parent = None
        if raw.isascii() and raw.isdecimal() and len(raw) < 19:  # not "²", which isdigit()
            parent = self.doc.comments.select_related("parent", "prompt").filter(pk=raw).first()
        if parent is None:
            raise forms.ValidationError("That comment has been deleted; start a new thread.")
        return parent
