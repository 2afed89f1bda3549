from django import forms

from apps.designdocs.models import DesignDoc

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
