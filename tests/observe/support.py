"""Reading the metrics as Prometheus does: with prometheus_client's parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

#: A sample: (name, sorted label pairs).
Key = tuple[str, tuple[tuple[str, str], ...]]


def parse(text: str) -> dict[Key, float]:
    """Every sample of a text exposition, by name and labels."""
    samples: dict[Key, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[Key, float], name: str, **labels: str) -> float:
    """One sample's value; KeyError (naming what exists) when it is absent."""
    key = (name, tuple(sorted(labels.items())))
    if key not in samples:
        raise KeyError(f"no sample {key}; there are {sorted({n for n, _ in samples})}")
    return samples[key]


async def scrape(client, headers: dict[str, str] | None = None) -> dict[Key, float]:
    """GET /_eventjobs/metrics through the app's test client, parsed."""
    response = await client.get("/_eventjobs/metrics", headers=headers or {})
    assert response.status_code == 200, await response.get_data()
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse((await response.get_data()).decode())
