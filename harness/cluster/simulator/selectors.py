"""Label selectors (equality- and set-based) and field selectors, parsed once, matched often.

CONTRACT:
    LabelSelector.parse(text) -> LabelSelector      raises ApiError 400 on bad syntax
    LabelSelector.from_spec(spec) -> LabelSelector  metav1.LabelSelector dict (matchLabels,
                                                    matchExpressions); {} matches everything,
                                                    None matches nothing
    LabelSelector.matches(labels: Mapping[str, str]) -> bool
    LabelSelector.empty -> bool
    FieldSelector.parse(text, kind) -> FieldSelector   400 on unknown fields for that kind
    FieldSelector.matches(obj: Mapping[str, Any]) -> bool
"""
