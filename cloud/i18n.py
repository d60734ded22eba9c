"""UI text: Simplified Chinese first, English second."""

from __future__ import annotations

from cloud.domain import alerts, leave, positioning, residence, sanctions, stages
from cloud.i18n_admin import ADMIN_EN, ADMIN_ZH

EN = {
    # navigation and common words
    "app": "Community corrections",
    "dashboard": "Dashboard",
    "cases": "Cases",
    "alerts": "Alerts",
    "assessments": "Assessments",
    "audit": "Audit log",
    "logout": "Log out",
    "login": "Log in",
    "username": "User name / ID number",
    "password": "Password",
    "submit": "Submit",
    "back": "Back",
    "save": "Save",
    "approve": "Approve",
    "refuse": "Refuse",
    "ack": "Acknowledge",
    "resolve": "Resolve",
    "note": "Note",
    "none": "None",
    "open_cases": "Open cases",
    "open_alerts": "Open alerts",
    "deadlines_week": "Deadlines this week",
    "caseload": "Caseload by stage",
    "new_case": "New case (documents received)",
    "person": "Person",
    "stage": "Stage",
    "type": "Type",
    "term": "Term",
    "office": "Office",
    "timeline": "Timeline",
    "checkins": "Check-ins",
    "band": "Band data",
    "leave": "Leave",
    "sanctions": "Rewards and penalties",
    "positioning": "Electronic positioning (Art. 29)",
    "deadlines": "Deadlines",
    "notices": "Notices",
    "actions": "Next steps",
    "live": "Live",
    "sos_banner": "SOS",
    "kind": "Kind",
    "status": "Status",
    "raised": "Raised",
    "count": "Count",
    "verify": "Verify chain",
    "chain_ok": "Chain intact",
    "chain_bad": "Chain broken at entry",
    "error": "Error",
    "due": "Due",
    "basis": "Legal basis",
    "suggestions": "Suggested proposals (for a person to decide)",
    "presence": "Presence",
    "not_in_force": "No positioning order in force: presence is neither collected nor shown.",
    "checkin": "Record a check-in",
    "request_leave": "Request leave",
    "propose": "Record / propose",
    "request_order": "Request an order",
    "end_order": "End order",
    "visit": "Field visit",
    "opinion": "Return the opinion",
    "new_assessment": "New commission",
    "battery": "Battery",
    "last_frame": "Last frame",
    "frames": "Frames",
    "reports": "Reports",
    "decide": "Decide",
    "authority_deadlines": "Deciding authority's duties (Art. 20)",
    "bureau_deadlines": "Our deadlines",
    "met_on": "Met on",
    "late_by": "late by",
    "days": "days",
    "open": "open",
    "record_documents": "Documents received",
    "ruling": "Record the ruling",
    "arrest_request": "Request arrest (Art. 47)",
    "arrest_requests": "Arrest requests (Art. 47)",
    "court_decision": "Record the court's decision",
    "decide_by": "decision due by",
    "returned": "Record the return (销假)",
    "returned_on": "Returned on",
    "residence": "Change of residence within the county (Art. 27)",
    "request_move": "Request a move",
    "party": "Whose duty",
    "party_authority": "Deciding authority",
    "party_bureau": "Bureau",
}
ZH = {
    "app": "社区矫正",
    "dashboard": "工作台",
    "cases": "案件",
    "alerts": "告警",
    "assessments": "调查评估",
    "audit": "审计日志",
    "logout": "退出",
    "login": "登录",
    "username": "用户名 / 身份证号",
    "password": "密码",
    "submit": "提交",
    "back": "返回",
    "save": "保存",
    "approve": "批准",
    "refuse": "不批准",
    "ack": "确认",
    "resolve": "处置完毕",
    "note": "备注",
    "none": "无",
    "open_cases": "在矫案件",
    "open_alerts": "未处置告警",
    "deadlines_week": "本周到期",
    "caseload": "各阶段案件数",
    "new_case": "新案件（收到法律文书）",
    "person": "对象",
    "stage": "阶段",
    "type": "类型",
    "term": "矫正期限",
    "office": "司法所",
    "timeline": "流程记录",
    "checkins": "报到与走访",
    "band": "腕带数据",
    "leave": "外出请假",
    "sanctions": "奖惩",
    "positioning": "电子定位（第二十九条）",
    "deadlines": "期限",
    "notices": "通知",
    "actions": "下一步",
    "live": "实时",
    "sos_banner": "紧急求助",
    "kind": "类别",
    "status": "状态",
    "raised": "发生时间",
    "count": "次数",
    "verify": "校验哈希链",
    "chain_ok": "哈希链完整",
    "chain_bad": "哈希链断裂于条目",
    "error": "错误",
    "due": "到期日",
    "basis": "依据",
    "suggestions": "建议提请事项（须人工决定）",
    "presence": "在场记录",
    "not_in_force": "无生效的电子定位决定：不采集也不显示位置数据。",
    "checkin": "登记报到/走访",
    "request_leave": "申请外出",
    "propose": "登记/提请",
    "request_order": "申请电子定位",
    "end_order": "解除电子定位",
    "visit": "实地调查",
    "opinion": "提交评估意见",
    "new_assessment": "新委托",
    "battery": "电量",
    "last_frame": "最近一帧",
    "frames": "数据帧",
    "reports": "报告",
    "decide": "决定",
    "authority_deadlines": "决定机关期限（第二十条）",
    "bureau_deadlines": "本机关期限",
    "met_on": "完成于",
    "late_by": "逾期",
    "days": "日",
    "open": "未完成",
    "record_documents": "登记法律文书送达",
    "ruling": "登记裁定/决定结果",
    "arrest_request": "提请逮捕（第四十七条）",
    "arrest_requests": "提请逮捕（第四十七条）",
    "court_decision": "登记法院决定",
    "decide_by": "应于此前作出决定",
    "returned": "销假",
    "returned_on": "返回日期",
    "residence": "县内迁居（第二十七条）",
    "request_move": "申请迁居",
    "party": "责任方",
    "party_authority": "决定机关",
    "party_bureau": "本机关",
}
STAGES_EN = {
    "notified": "Awaiting report",
    "reported": "Reported",
    "received": "Received",
    "announced": "Announced",
    "supervising": "Under supervision",
    "released": "Released",
    "terminated": "Terminated",
    "transferred": "Transferred",
}
TYPES_EN = {
    "control": "Public surveillance",
    "probation": "Probation",
    "parole": "Parole",
    "medical_parole": "Temporary execution outside prison",
}
ACTIONS = {
    "open": ("收到法律文书，立案", "Documents received, case opened"),
    "report": ("登记报到", "Record report"),
    "receive": ("接收登记", "Receive"),
    "announce": ("入矫宣告", "Announce"),
    "start_supervision": ("制定方案、分类管理", "Start supervision"),
    "release": ("解除矫正", "Release"),
    "terminate": ("终止矫正", "Terminate"),
    "transfer": ("变更执行地", "Transfer"),
    "documents": ("法律文书送达", "Documents received"),
    "leave_return": ("销假", "Back from leave"),
    "leave_return_late": ("逾期销假", "Back from leave, late"),
    "residence_change": ("县内迁居", "Moved within the county"),
    "arrest_request": ("提请逮捕", "Arrest requested"),
    "arrest_decision": ("法院逮捕决定", "Court's arrest decision"),
    "ruling": ("裁定/决定结果", "Ruling recorded"),
}
DEADLINES = {
    "report": ("报到", "Report (Art. 21)"),
    "authority_notice": ("决定机关通知", "Authority's notice"),
    "documents": ("法律文书送达", "Documents delivered"),
    "assessment_opinion": ("调查评估意见", "Assessment opinion"),
    "release": ("矫正期满解除", "Release at term end"),
    "leave_return": ("外出返回", "Return from leave"),
    "revoke_probation_ruling": ("撤销缓刑裁定", "Ruling on revoking probation"),
    "revoke_parole_ruling": ("撤销假释裁定", "Ruling on revoking parole"),
    "imprison_ruling": ("收监执行决定", "Decision on imprisonment"),
    "arrest_decision": ("逮捕决定（48小时）", "Arrest decision (48 h)"),
    "custody_limit": ("羁押期限（30日）", "Custody limit (30 days)"),
    "residence_report": ("迁居后报到", "Report after moving"),
    "transfer_report": ("变更执行地报到", "Report after transfer"),
    "transfer_file": ("移交档案", "Hand over the file"),
    "correction_reply": ("纠正意见书面回复", "Reply to correction notice"),
}


EN.update(ADMIN_EN)
ZH.update(ADMIN_ZH)


def t(key: str, lang: str) -> str:
    """A UI string in the language (zh default); the key itself if unknown."""
    table = EN if lang == "en" else ZH
    return table.get(key, ZH.get(key, key))


def label(kind: str, value: str, lang: str) -> str:
    """A coded value (stage, case type, alert kind, ...) in words."""
    if kind == "stage":
        return STAGES_EN.get(value, value) if lang == "en" else stages.STAGES.get(value, value)
    if kind == "case_type":
        return TYPES_EN.get(value, value) if lang == "en" else stages.CASE_TYPES.get(value, value)
    if kind == "alert":
        k = alerts.KINDS.get(value)
        return (k[2] if lang == "en" else k[1]) if k else value
    if kind == "action":
        a = ACTIONS.get(value)
        return (a[1] if lang == "en" else a[0]) if a else value
    if kind == "sanction":
        return sanctions.KINDS.get(value, value) if lang != "en" else value.replace("_", " ")
    if kind == "tier":
        return leave.TIERS.get(value, value) if lang != "en" else value
    if kind == "ground":
        return positioning.GROUNDS.get(int(value), value)
    if kind == "arrest_ground":
        return sanctions.ARREST_GROUNDS.get(value, value) if lang != "en" else value
    if kind == "residence":
        return residence.STATUSES.get(value, value) if lang != "en" else value
    if kind == "deadline":
        d = DEADLINES.get(value)
        return (d[1] if lang == "en" else d[0]) if d else value
    if kind == "class":
        return stages.CLASSES.get(value, value) if lang != "en" else value
    return value
