from django import forms

from apps.designdocs.models import DesignDoc


class DocForm(forms.ModelForm):
    class Meta:
        model = DesignDoc
        fields = ("title", "problem")
        widgets = {"problem": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "title": "What the system does, e.g. “Fraud detection for card payments”.",
            "problem": "One paragraph: who uses it, what it decides, why it matters.",
        }

    def clean_title(self):
        title = self.cleaned_data["title"].strip()
        if not title:
            raise forms.ValidationError("Give the document a title.")
        return title
