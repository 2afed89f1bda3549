from django import forms

from apps.designdocs.diagrams import STARTERS
from apps.designdocs.models import DesignDoc, Diagram

PROBLEM_MAX_CHARS = 10_000


class DocForm(forms.ModelForm):
    class Meta:
        model = DesignDoc
        fields = ("title", "problem")
        widgets = {"problem": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "title": "What the system does, e.g. “Fraud detection for card payments”.",
            "problem": "One paragraph: who uses it, what it decides, why it matters.",
        }

    def clean_problem(self):
        problem = self.cleaned_data["problem"]
        if len(problem) > PROBLEM_MAX_CHARS:
            raise forms.ValidationError(
                f"Keep the problem statement under {PROBLEM_MAX_CHARS:,} characters (it has "
                f"{len(problem):,}); the details belong in the steps."
            )
        return problem

    def clean_title(self):
        title = self.cleaned_data["title"].strip()
        if not title:
            raise forms.ValidationError("Give the document a title.")
        return title


class DiagramForm(forms.ModelForm):
    class Meta:
        model = Diagram
        fields = ("title",)
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
