"""Render an environment's CloudWatch dashboard, from its synthesized template, to a PNG.

``make dashboard-picture ENV=prod`` (after ``make synth``) writes
``docs/images/dashboard-<env>.png``, the picture in docs/operations.md. The layout, the
titles, the legends, the alarm lists and the days until end of life are the template's
own (``DashboardBody``, resolved with the environment's account and region; the days from
the shipped model catalog); the lines of the graphs are sample data (a 10 % canary),
since no metric exists offline. Numbered callouts mark the eight widgets of the first
alias; docs/operations.md says what each shows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

UNIT_W, UNIT_H, PAD = 56, 34, 5
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
INK, MUTED, FRAME, OK = "#16191f", "#5f6b7a", "#d1d5db", "#1d8102"


def resolve(value: Any, region: str, account: str) -> str:
    """A ``DashboardBody`` (a string or an ``Fn::Join``) as the text CloudFormation makes
    of it: pseudo parameters filled in, an alarm's ``Fn::GetAtt`` its ARN (named by its
    logical id)."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(resolve(p, region, account) for p in parts)
    if "Ref" in value:
        pseudo = {"AWS::Region": region, "AWS::AccountId": account, "AWS::Partition": "aws"}
        return pseudo.get(value["Ref"], f"<{value['Ref']}>")  # a resource: its logical id
    if "Fn::GetAtt" in value:
        return f"arn:aws:cloudwatch:{region}:{account}:alarm:{value['Fn::GetAtt'][0]}"
    raise ValueError(f"cannot resolve {json.dumps(value)[:80]}")


def dashboard_bodies(template: Mapping[str, Any], region: str, account: str) -> list[dict]:
    """Every dashboard of ``template``, its body parsed, in logical-id order."""
    return [
        json.loads(resolve(r["Properties"]["DashboardBody"], region, account))
        for _, r in sorted(template["Resources"].items())
        if r["Type"] == "AWS::CloudWatch::Dashboard"
    ]


@dataclass(frozen=True)
class Fonts:
    title: Any
    text: Any
    small: Any
    big: Any


def fonts() -> Fonts:
    return Fonts(*(ImageFont.load_default(size=s) for s in (15, 13, 11, 30)))


def _series_labels(properties: Mapping[str, Any]) -> list[str]:
    labels = []
    for metric in properties.get("metrics", []):
        options = metric[-1] if metric and isinstance(metric[-1], dict) else {}
        if options.get("visible") is False:
            continue
        if "label" in options:
            labels.append(options["label"])
        elif "expression" in options:
            name = re.search(r'MetricName=\\?"([A-Za-z]+)', options["expression"])
            labels.append(f"{name.group(1) if name else 'expression'} by version")
        else:
            labels.append(str(metric[1]))
    return labels


def _sample(seed: int, count: int, canary: bool) -> list[float]:
    """A deterministic wavy line (or, for invocations, a 10 % canary's share)."""
    if canary:
        return [
            90 + 4 * math.sin(i / 3) if seed == 0 else 10 + math.sin(i / 2) for i in range(count)
        ]
    return [50 + 18 * math.sin(i / (4 + seed) + seed) + 6 * seed for i in range(count)]


def _draw_graph(
    draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], props: Mapping[str, Any], f: Fonts
) -> None:
    x0, y0, x1, y1 = box
    labels = _series_labels(props)
    legend_h = 16 * math.ceil(len(labels) / 2)
    gx0, gy0, gx1, gy1 = x0 + 34, y0 + 28, x1 - 10, y1 - 22 - legend_h
    draw.line([(gx0, gy0), (gx0, gy1), (gx1, gy1)], fill=FRAME)
    for tick in range(3):
        ty = gy1 - tick * (gy1 - gy0) / 2
        draw.text((x0 + 6, ty - 6), str(tick * 50), fill=MUTED, font=f.small)
    canary = "invocations" in (props.get("title") or "")
    lines = labels if not canary else ["v1 (previous)", "v2 (canary)"]
    for i, _label in enumerate(lines):
        values = _sample(i, 40, canary)
        points = [
            (gx0 + k * (gx1 - gx0) / 39, gy1 - max(0.0, min(100.0, v)) / 100 * (gy1 - gy0))
            for k, v in enumerate(values)
        ]
        draw.line(points, fill=COLOURS[i % len(COLOURS)], width=2)
    for i, label in enumerate(lines):
        lx = x0 + 10 + (i % 2) * (x1 - x0) // 2
        ly = y1 - 18 - legend_h + 16 * (i // 2) + 14
        draw.rectangle([lx, ly + 3, lx + 10, ly + 11], fill=COLOURS[i % len(COLOURS)])
        draw.text((lx + 14, ly), label[:44], fill=INK, font=f.small)


def _draw_single(
    draw: ImageDraw.ImageDraw,
    box: tuple[int, int, int, int],
    props: Mapping[str, Any],
    f: Fonts,
    days: Mapping[str, int],
) -> None:
    x0, y0, x1, _ = box
    metrics = props.get("metrics", [])
    width = (x1 - x0 - 12) // max(1, min(len(metrics), 4))
    for i, metric in enumerate(metrics[:8]):
        dims = dict(zip(metric[2:-1:2], metric[3:-1:2], strict=False))
        model = dims.get("ModelId", "")
        cx = x0 + 8 + (i % 4) * width
        cy = y0 + 30 + (i // 4) * 80
        value = days.get(model)
        draw.text((cx, cy), "none" if value is None else str(value), fill=INK, font=f.big)
        draw.text((cx, cy + 38), model.split(".", 1)[-1][:28], fill=MUTED, font=f.small)


def _draw_alarms(
    draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], props: Mapping[str, Any], f: Fonts
) -> None:
    x0, y0, x1, y1 = box
    for i, arn in enumerate(props.get("alarms", [])):
        y = y0 + 28 + 17 * i
        if y > y1 - 18:
            draw.text(
                (x0 + 10, y), f"... {len(props['alarms']) - i} more", fill=MUTED, font=f.small
            )
            break
        draw.rounded_rectangle([x0 + 10, y + 1, x0 + 34, y + 14], radius=3, fill=OK)
        draw.text((x0 + 13, y + 1), "OK", fill="white", font=f.small)
        name = re.sub(r"[0-9A-F]{8}$", "", arn.rsplit(":", 1)[-1])
        draw.text((x0 + 40, y), name[: (x1 - x0 - 50) // 7], fill=INK, font=f.small)


def _draw_text(
    draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], props: Mapping[str, Any], f: Fonts
) -> None:
    x0, y0, _, y1 = box
    y = y0 + 6
    for line in props.get("markdown", "").splitlines():
        heading = line.startswith("#")
        text = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", line.lstrip("# "))
        if y > y1 - 14:
            break
        draw.text((x0 + 10, y), text[:170], fill=INK, font=f.title if heading else f.text)
        y += 20 if heading else 17


def render(
    body: Mapping[str, Any], days: Mapping[str, int], callouts: int = 8
) -> tuple[Image.Image, int]:
    """The picture of one dashboard body, and how many widgets it drew."""
    widgets: Sequence[Mapping[str, Any]] = body["widgets"]
    rows = max(w["y"] + w["height"] for w in widgets)
    image = Image.new("RGB", (24 * UNIT_W + 2 * PAD, rows * UNIT_H + 2 * PAD + 26), "#f2f3f3")
    draw = ImageDraw.Draw(image)
    f = fonts()
    first_alias = next((i for i, w in enumerate(widgets) if w["type"] == "text" and i > 0), None)
    drawn = 0
    for index, widget in enumerate(widgets):
        box = (
            PAD + widget["x"] * UNIT_W + 3,
            PAD + widget["y"] * UNIT_H + 3,
            PAD + (widget["x"] + widget["width"]) * UNIT_W - 3,
            PAD + (widget["y"] + widget["height"]) * UNIT_H - 3,
        )
        props = widget["properties"]
        draw.rectangle(box, fill="white", outline=FRAME)
        if widget["type"] != "text":
            draw.text(
                (box[0] + 10, box[1] + 6), (props.get("title") or "")[:80], fill=INK, font=f.title
            )
        kind = widget["type"], props.get("view")
        if kind == ("metric", "singleValue"):
            _draw_single(draw, box, props, f, days)
        elif widget["type"] == "metric":
            _draw_graph(draw, box, props, f)
        elif widget["type"] == "alarm":
            _draw_alarms(draw, box, props, f)
        else:
            _draw_text(draw, box, props, f)
        if first_alias is not None and 0 <= index - first_alias < callouts:
            number = str(index - first_alias + 1)
            cx, cy = box[2] - 16, box[1] + 14
            draw.ellipse([cx - 11, cy - 11, cx + 11, cy + 11], fill="#d13212")
            draw.text((cx - 4, cy - 8), number, fill="white", font=f.title)
        drawn += 1
    draw.text(
        (PAD + 4, image.height - 22),
        "Rendered from the synthesized DashboardBody by tools/dashboard_picture.py; graph lines "
        "are sample data (a 10 % canary), values of days until end of life from the model catalog.",
        fill=MUTED,
        font=f.small,
    )
    return image, drawn


def days_until_end_of_life(today: dt.date) -> dict[str, int]:
    """Model id -> days until Bedrock ends it, from the shipped catalog."""
    from bedrock_lifecycle.catalog import shipped_catalog

    catalog = shipped_catalog()
    out = {}
    for model_id, entry in catalog.entries.items():
        days = entry.days_until_end_of_life(today)
        if days is not None:
            out[model_id] = days
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="prod")
    parser.add_argument("--cdk-out", default="cdk.out", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--account", default="222222222222")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date.today())
    args = parser.parse_args(argv)
    template = json.loads((args.cdk_out / f"BedrockLifecycle-{args.env}.template.json").read_text())
    (body, *_) = dashboard_bodies(template, args.region, args.account)
    image, drawn = render(body, days_until_end_of_life(args.today))
    out = args.out or Path(f"docs/images/dashboard-{args.env}.png")
    image.save(out, optimize=True)
    print(f"{out}: {drawn} widgets, {image.width}x{image.height}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
