"""Form field specs for the UI (label zh, label en, input kind) and form-to-model conversion."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cloud.domain import positioning, sanctions, stages

# (name, zh, en, input kind, options {value: label} for selects)
Field = tuple[str, str, str, str, dict[Any, str] | None]
_NOTE: Field = ("note", "备注", "Note", "text", None)

ACT_FORMS: dict[str, list[Field]] = {
    "report": [("reported_on", "报到日期", "Reported on", "date", None), _NOTE],
    "receive": [
        ("identity_checked", "已核实身份", "Identity checked", "checkbox", None),
        ("documents_checked", "已核对法律文书", "Documents checked", "checkbox", None),
        ("file_no", "档案编号", "File number", "text", None),
        _NOTE,
    ],
    "announce": [
        ("held_at", "宣告时间", "Held at", "datetime-local", None),
        ("place", "地点", "Place", "text", None),
        ("attendees", "到场人员（每行一人）", "Attendees (one per line)", "lines", None),
        ("police_station", "通知派出所", "Police station notified", "text", None),
        ("village_committee", "通知村（居）委会", "Village committee notified", "text", None),
    ],
    "start_supervision": [
        ("class_level", "管理类别", "Classification", "select", stages.CLASSES),
        ("plan", "矫正方案", "Correction plan", "textarea", None),
        ("team", "矫正小组成员（每行一人）", "Correction team (one per line)", "lines", None),
    ],
    "release": [
        ("certificate_no", "解除证明书编号", "Certificate number", "text", None),
        ("released_on", "解除日期", "Released on", "date", None),
        _NOTE,
    ],
    "terminate": [
        (
            "reason",
            "终止原因",
            "Reason",
            "select",
            {
                "revoked_probation": "撤销缓刑",
                "revoked_parole": "撤销假释",
                "imprisoned": "收监执行",
                "died": "死亡",
            },
        ),
        ("document_no", "裁定/决定文号", "Ruling or decision number", "text", None),
        ("on", "日期", "Date", "date", None),
        _NOTE,
    ],
    "transfer": [
        ("new_county", "新执行地县级机构", "New county", "text", None),
        ("new_address", "新居住地", "New address", "text", None),
        ("decided_on", "决定日期", "Decided on", "date", None),
        ("reason", "理由", "Reason", "textarea", None),
    ],
}

FORMS: dict[str, list[Field]] = {
    "case": [
        ("person.name", "姓名", "Name", "text", None),
        ("person.id_number", "身份证号", "ID number", "text", None),
        (
            "person.gender",
            "性别",
            "Gender",
            "select",
            {"male": "男", "female": "女", "other": "其他"},
        ),
        ("person.phone", "电话", "Phone", "text", None),
        ("person.address", "住址", "Address", "text", None),
        ("case_type", "矫正类别", "Case type", "select", stages.CASE_TYPES),
        ("authority_kind", "决定机关类别", "Deciding authority", "select", stages.AUTHORITY_KINDS),
        ("authority_name", "决定机关名称", "Authority name", "text", None),
        ("judgment_no", "判决/裁定/决定书文号", "Judgment number", "text", None),
        ("effective_on", "生效日期", "Effective on", "date", None),
        ("term_start", "矫正起始日", "Term start", "date", None),
        ("term_end", "矫正期满日", "Term end", "date", None),
        ("office_id", "司法所", "Office", "unit:office", None),
        ("village_id", "村（居）", "Village", "unit:village", None),
        (
            "notice_received_on",
            "收到决定机关通知日期（可空）",
            "Notice received on (optional)",
            "date",
            None,
        ),
        (
            "documents_received_on",
            "法律文书送达日期（空为今天）",
            "Documents received on (empty: today)",
            "date",
            None,
        ),
        (
            "documents_pending",
            "法律文书尚未送达（仅收到通知）",
            "Documents not yet received (notice only)",
            "checkbox",
            None,
        ),
    ],
    "documents": [
        ("received_on", "法律文书送达日期", "Documents received on", "date", None),
        _NOTE,
    ],
    "ruling": [
        ("outcome", "裁定/决定结果", "Outcome", "select", sanctions.RULING_OUTCOMES),
        ("document_no", "裁定书/决定书文号", "Ruling or decision number", "text", None),
        ("ruled_on", "裁定/决定日期", "Ruled on", "date", None),
    ],
    "arrest": [
        ("ground", "提请逮捕理由", "Ground", "select", sanctions.ARREST_GROUNDS),
        ("facts", "事实与证据", "Facts and evidence", "textarea", None),
        ("court", "人民法院", "Court", "text", None),
    ],
    "arrest_decision": [
        (
            "arrested",
            "结果",
            "Outcome",
            "select",
            {"true": "决定逮捕", "false": "决定不予逮捕"},
        ),
        ("document_no", "决定书文号", "Decision number", "text", None),
        ("decided_at", "决定时间", "Decided at", "datetime-local", None),
    ],
    "leave_return": [
        ("returned_on", "返回日期（空为今天）", "Returned on (empty: today)", "date", None),
        ("note", "说明（逾期返回必填）", "Note (required when late)", "text", None),
    ],
    "residence": [
        ("to_village_id", "迁入村（居）", "New village", "unit:village", None),
        ("new_address", "新住址", "New address", "text", None),
        ("moves_on", "迁居日期", "Moves on", "date", None),
        ("reason", "理由", "Reason", "textarea", None),
    ],
    "checkin": [
        (
            "method",
            "方式",
            "Method",
            "select",
            {
                "office": "到所报到",
                "visit": "实地走访",
                "phone": "电话",
                "kiosk": "自助终端",
                "video": "视频",
            },
        ),
        ("place", "地点", "Place", "text", None),
        _NOTE,
    ],
    "leave": [
        ("starts_on", "外出开始", "Starts on", "date", None),
        ("ends_on", "返回日期", "Ends on", "date", None),
        ("destination", "目的地", "Destination", "text", None),
        ("reason", "事由", "Reason", "textarea", None),
    ],
    "sanction": [
        ("kind", "类别", "Kind", "select", sanctions.KINDS),
        ("reason", "事实与依据", "Facts and rule", "textarea", None),
        ("evidence", "证据材料（每行一项）", "Evidence (one per line)", "lines", None),
    ],
    "positioning": [
        ("ground", "法定情形", "Statutory ground", "select", positioning.GROUNDS),
        ("reason", "事实", "Facts", "textarea", None),
        ("starts_on", "开始日期", "Starts on", "date", None),
        ("ends_on", "结束日期（不超过三个月）", "Ends on (at most 3 months)", "date", None),
        ("renewal_of", "续期的原决定编号（可空）", "Renews order no. (optional)", "text", None),
        ("assessment", "续期评估意见", "Renewal assessment", "textarea", None),
    ],
    "assessment": [
        (
            "requester_kind",
            "委托机关类别",
            "Requester",
            "select",
            {
                "court": "人民法院",
                "procuratorate": "人民检察院",
                "police": "公安机关",
                "prison": "监狱",
            },
        ),
        ("requester_name", "委托机关", "Requester name", "text", None),
        ("request_no", "委托函编号", "Request number", "text", None),
        ("received_on", "收到日期", "Received on", "date", None),
        ("fast_track", "速裁案件", "Fast-track", "checkbox", None),
        ("office_id", "承办司法所", "Office", "unit:office", None),
        ("subject_name", "被调查人", "Subject", "text", None),
        ("subject_id_number", "身份证号", "ID number", "text", None),
    ],
    "visit": [
        ("visited_on", "走访日期", "Visited on", "date", None),
        ("place", "地点", "Place", "text", None),
        ("notes", "调查记录", "Notes", "textarea", None),
        ("signatures", "签名人（每行一人）", "Signed by (one per line)", "lines", None),
    ],
    "opinion": [
        (
            "recommendation",
            "评估意见",
            "Recommendation",
            "select",
            {"suitable": "适用社区矫正", "unsuitable": "不适宜社区矫正"},
        ),
        ("opinion", "意见书", "Opinion", "textarea", None),
        ("returned_on", "提交日期", "Returned on", "date", None),
    ],
}
_LINES = {f[0] for spec in (*ACT_FORMS.values(), *FORMS.values()) for f in spec if f[3] == "lines"}
_CHECKS = {
    f[0] for spec in (*ACT_FORMS.values(), *FORMS.values()) for f in spec if f[3] == "checkbox"
}
_BOOLS = {"approve", "arrested", "sos_location", "compromised"}
# Optional fields whose empty input means "not given" (the model's default applies).
_OPTIONAL = {
    "renewal_of",
    "phone",
    "address",
    "birth_date",
    "at",
    "notice_received_on",
    "documents_received_on",
    "returned_on",
    "unit_id",
    "parent_id",
    "code",
    "lat",
    "lon",
    "weight_kg",
    "rest_hr",
    "password",
}


def form_data(form: Mapping[str, Any]) -> dict[str, Any]:
    """Form fields as the model expects: dotted names nest, lines split, empty optionals dropped.

    A checkbox is preceded by a hidden 'false' input of the same name, and the last value wins.
    """
    out: dict[str, Any] = {}
    for key, raw in form.items():
        value: Any = str(raw)
        name = key.split(".")[-1]
        if name in _LINES:
            value = [line.strip() for line in value.splitlines() if line.strip()]
        elif name in _CHECKS or name in _BOOLS:
            value = value in ("on", "true", "1", "yes")
        elif value == "" and name in _OPTIONAL:
            continue
        target = out
        parts = key.split(".")
        for p in parts[:-1]:
            target = target.setdefault(p, {})
        target[parts[-1]] = value
    return out
