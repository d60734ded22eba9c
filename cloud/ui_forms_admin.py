"""Form field specs of the administration pages (same shape as ui_forms.Field)."""

from __future__ import annotations

from typing import Any

from cloud.domain.roles import ROLES

Field = tuple[str, str, str, str, dict[Any, str] | None]

UNIT_KINDS = {
    "county": "县级司法局",
    "office": "司法所",
    "village": "村（居）委会",
    "procuratorate": "人民检察院",
    "police": "公安机关",
    "court": "人民法院",
    "other": "其他",
}

ADMIN_FORMS: dict[str, list[Field]] = {
    "user": [
        ("username", "用户名", "User name", "text", None),
        ("display_name", "姓名", "Display name", "text", None),
        ("role", "角色", "Role", "select", {k: v for k, v in ROLES.items() if k != "person"}),
        ("unit_id", "所属单位（管理员可空）", "Unit (none for an administrator)", "unit:*", None),
        ("password", "初始密码（10位以上）", "Initial password (10+)", "password", None),
    ],
    "unit": [
        ("kind", "类别", "Kind", "select", UNIT_KINDS),
        ("name", "名称", "Name", "text", None),
        ("parent_id", "上级单位", "Parent unit", "unit:*", None),
        ("code", "代码（可空）", "Code (optional)", "text", None),
        ("lat", "纬度（可空）", "Latitude (optional)", "text", None),
        ("lon", "经度（可空）", "Longitude (optional)", "text", None),
    ],
    "hub": [
        ("hub_id", "基站编号", "Hub id", "number", None),
        ("name", "名称", "Name", "text", None),
        ("unit_id", "服务单位", "Unit served", "unit:*", None),
        ("lat", "纬度", "Latitude", "text", None),
        ("lon", "经度", "Longitude", "text", None),
        ("address", "安装地址", "Address", "text", None),
    ],
    "assign": [
        ("id_number", "佩戴人身份证号", "Wearer's ID number", "text", None),
        (
            "sos_location",
            "本人同意求助时提供位置",
            "Wearer opts in to SOS location",
            "checkbox",
            None,
        ),
        ("weight_kg", "体重 kg（可空）", "Weight kg (optional)", "number", None),
        ("rest_hr", "静息心率（可空）", "Resting heart rate (optional)", "number", None),
    ],
    "rekey": [
        ("reason", "更换密钥原因", "Reason for the new key", "text", None),
        (
            "compromised",
            "原密钥可能泄露（拒收原密钥签名的数据）",
            "Old key may be compromised",
            "checkbox",
            None,
        ),
    ],
    "password": [
        ("old_password", "原密码", "Current password", "password", None),
        (
            "new_password",
            "新密码（10位以上，含两类字符）",
            "New password (10+, two kinds)",
            "password",
            None,
        ),
    ],
}
