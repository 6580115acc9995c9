"""Input serializers of the management API: nothing the database would refuse
gets past them, and nothing they don't know is silently dropped.

``StrictInput`` refuses fields it does not declare (400 naming them), and
gives every ``IntegerField`` without an explicit ``max_value`` / ``min_value``
the range of a PostgreSQL ``integer`` column (the widest the models use for
such fields; declare a wider range for a ``bigint`` one). Without it, an
out-of-range integer reached the database and came back as a 500."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from rest_framework import serializers

INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)
INT64_MAX = 2**63 - 1


class StrictInput(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for field in fields.values():
            if isinstance(field, serializers.IntegerField):
                if field.max_value is None:
                    field.max_value = INT32_MAX
                    field.validators.append(MaxValueValidator(INT32_MAX))
                if field.min_value is None:
                    field.min_value = INT32_MIN
                    field.validators.append(MinValueValidator(INT32_MIN))
        return fields

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)
