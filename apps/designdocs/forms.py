import unicodedata
from datetime import timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from apps.accounts.backends import stored_username
from apps.designdocs.diagrams import STARTERS
from apps.designdocs.models import (
    REVIEWERS_PER_DOC,
    SHARE_LINKS_PER_DOC,
    DesignDoc,
    Diagram,
    ShareLink,
)

PROBLEM_MAX_CHARS = 10_000


class DocForm(forms.ModelForm):
    class Meta:
        model = DesignDoc
        fields = ("title", "problem")
        # dir="auto": a title or problem in Arabic or Hebrew is typed in its own direction.
        widgets = {
            "title": forms.TextInput(attrs={"dir": "auto"}),
            "problem": forms.Textarea(attrs={"rows": 4, "dir": "auto"}),
        }
        help_texts = {
            "title": "What the system does, e.g. “Fraud detection for card payments”.",
            "problem": "One paragraph: who uses it, what it decides, why it matters.",
        }
        error_messages = {
            "title": {
                # A blank title (spaces too: the field strips them) never reaches clean_title.
                "required": "Give the document a title: what the system does, e.g. “Fraud "
                "detection for card payments”.",
                "max_length": "Keep the title to %(limit_value)d characters "
                "(it has %(show_value)d).",
            }
        }

    def clean_problem(self):
        problem = self.cleaned_data["problem"]
        if len(problem) > PROBLEM_MAX_CHARS:
            raise forms.ValidationError(
                f"Keep the problem statement under {PROBLEM_MAX_CHARS:,} characters (it has "
                f"{len(problem):,}); the details belong in the steps."
            )
        return problem


class RenameForm(DocForm):
    """A doc's title and problem statement, saved only over the text the form was based on
    (``version``), as autosave saves an answer: a rename made in another tab meanwhile is a
    conflict that shows both, never overwritten silently. ``keep`` (the saved text's version)
    is the writer's choice to save theirs over it."""

    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.saved = (self.instance.title, self.instance.problem)  # as stored when read
        self.saved_version = self.instance.text_version
        self.fields["version"].initial = self.saved_version
        self.conflict = False

    def clean(self):
        cleaned = super().clean()
        base = self.data.get("keep") or cleaned.get("version") or self.saved_version
        posted = (cleaned.get("title"), cleaned.get("problem"))
        if base != self.saved_version and posted != self.saved and None not in posted:
            self.conflict = True
            raise forms.ValidationError(
                "Not saved: the title or problem statement was changed in another tab or window "
                "since this page was opened. Nothing was overwritten: yours stays in the fields "
                "and in the document's history, and the saved text is shown below.",
                code="conflict",
            )
        return cleaned


class DiagramForm(forms.ModelForm):
    class Meta:
        model = Diagram
        fields = ("title",)
        widgets = {"title": forms.TextInput(attrs={"dir": "auto"})}
        help_texts = {"title": "What it shows, e.g. “Serving path” or “Feature pipeline”."}
        error_messages = {"title": {"required": "Give the diagram a title."}}


class NewDiagramForm(DiagramForm):
    prefix = "diagram"  # beside the doc's own title field on the doc page
    starter = forms.ChoiceField(
        label="Start from",
        choices=[(key, starter.label) for key, starter in STARTERS.items()],
        required=False,
        help_text="A starter is arrow shorthand you can change; or write Graphviz DOT.",
    )


class ShareLinkForm(forms.Form):
    """A new read-only link: who it is for, and when it stops working."""

    EXPIRY_CHOICES = [("", "Never"), ("1", "In a day"), ("7", "In a week"),
                      ("30", "In 30 days"), ("90", "In 90 days")]  # fmt: skip

    label = forms.CharField(
        max_length=ShareLink._meta.get_field("label").max_length,
        help_text="Who it is for, e.g. “Mock interview with Sam”; only you see it.",
        error_messages={
            "required": "Name the link, so you know which one to revoke later.",
            "max_length": "Keep the label to %(limit_value)d characters (it has %(show_value)d).",
        },
    )
    expires = forms.ChoiceField(
        label="Stops working", choices=EXPIRY_CHOICES, required=False,
        help_text="You can revoke it any time before that.",
    )  # fmt: skip

    def __init__(self, *args, doc: DesignDoc, **kwargs):
        super().__init__(*args, **kwargs)
        self.doc = doc

    def clean_label(self):
        label = self.cleaned_data["label"].strip()
        if not label:
            raise forms.ValidationError("Name the link, so you know which one to revoke later.")
        return label

    def clean(self):
        if self.doc.share_links.count() >= SHARE_LINKS_PER_DOC:
            raise forms.ValidationError(
                f"A doc has at most {SHARE_LINKS_PER_DOC} links; revoke one you no longer need."
            )
        return super().clean()

    def make_link(self) -> tuple[ShareLink, str]:
        days = self.cleaned_data["expires"]
        expires_at = timezone.now() + timedelta(days=int(days)) if days else None
        return ShareLink.make(self.doc, self.cleaned_data["label"], expires_at)


class InviteForm(forms.Form):
    """A named reviewer, found by username or by email."""

    who = forms.CharField(
        label="Username or email", max_length=254,
        help_text="They need an account here; they get a mail with the link to the doc.",
        error_messages={"required": "Type the reviewer's username or email."},
    )  # fmt: skip

    def __init__(self, *args, doc: DesignDoc, refusal: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.doc, self.refusal = doc, refusal

    def clean_who(self):
        if self.refusal:
            raise forms.ValidationError(self.refusal)
        who = self.cleaned_data["who"].strip()
        users = get_user_model().objects.filter(is_active=True)
        # A username in any case, as sign-in takes it ("Alice" finds alice).
        username = stored_username(unicodedata.normalize("NFKC", who))
        matches = list(users.filter(Q(username=username) | Q(email__iexact=who))[:2])
        if not matches:
            raise forms.ValidationError(
                f"No account is called or uses “{who}”. Ask them to sign up, then invite them."
            )
        if len(matches) > 1:
            raise forms.ValidationError("More than one account matches; invite by username.")
        user = matches[0]
        if user.pk == self.doc.owner_id:
            raise forms.ValidationError("That is you: you can already read and comment.")
        if self.doc.reviewers.filter(user=user).exists():
            raise forms.ValidationError(f"{user.get_username()} is already a reviewer.")
        if self.doc.reviewers.count() >= REVIEWERS_PER_DOC:
            raise forms.ValidationError(
                f"A doc has at most {REVIEWERS_PER_DOC} reviewers; remove one first."
            )
        return user
