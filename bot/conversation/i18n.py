"""Reply strings in English and Chinese, chosen by the activity's locale."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from analytics.relationships.explanations import FactorExplanation
from bot.conversation.model import Lang

if TYPE_CHECKING:  # read only for its fields; importing it would load the scoring's numpy code with every reply
    from analytics.scoring.explain import Reason

MESSAGES: dict[str, dict[str, str]] = {
    "unknown_user": {
        "en": "Sorry, I don't know you yet: your account isn't among the users Rapport syncs for this "
              "organisation. Ask your Rapport admin to add your mailbox.",
        "zh": "抱歉，我还不认识您：您的帐户不在 Rapport 为本组织同步的用户中。请联系 Rapport 管理员添加您的邮箱。",
    },
    "unknown_tenant": {
        "en": "Sorry, Rapport isn't set up for your organisation.",
        "zh": "抱歉，您的组织尚未启用 Rapport。",
    },
    "rate_limited": {
        "en": "You're sending messages faster than I can answer. Please wait {seconds} seconds and try again.",
        "zh": "您发送消息的速度太快了，请等待 {seconds} 秒后再试。",  # no plural in Chinese
    },
    "rate_limited.one": {  # English singular; Chinese has one form (see ``tn``)
        "en": "You're sending messages faster than I can answer. Please wait 1 second and try again.",
    },
    "error": {
        "en": "Sorry, something went wrong on my side. Please try again in a moment.",
        "zh": "抱歉，我这边出了点问题，请稍后再试。",
    },
    "help_title": {"en": "Here is what I can do", "zh": "我可以帮您做这些"},
    "help_intro": {
        "en": "Ask in your own words, in English or Chinese. For example:",
        "zh": "用中文或英文提问都可以，例如：",
    },
    "help_none": {
        "en": "No analytics commands are available yet: this Rapport deployment has no analytics configured.",
        "zh": "暂无可用的分析命令：此 Rapport 部署尚未配置分析功能。",
    },
    "action_rejected": {
        "en": "This button isn't meant for you, or the card was changed. Nothing was done.",
        "zh": "此按钮不属于您，或卡片已被修改。未执行任何操作。",
    },
    "action_unknown": {
        "en": "This card is out of date. Ask me again to get a fresh one.",
        "zh": "此卡片已过期，请重新向我提问以获取新卡片。",
    },
    # relationships
    "help_health": {"en": "**health of Fabrikam** (an account, domain, contact email, lead:ID or opportunity:ID) — "
                          "relationship health, trend and the factors behind it",
                    "zh": "**Fabrikam 的健康度**（客户、域名、联系人邮箱，或“线索 L-1”“商机 O-7”这样的编号）— 关系健康度、"
                          "趋势及影响因素"},
    "help_who": {"en": "**who knows jane@fabrikam.com** — colleagues with the strongest connection, and an intro button",
                 "zh": "**谁认识 jane@fabrikam.com** — 与其联系最紧密的同事，并可请求引荐"},
    "help_intro_cmd": {"en": "**intro to fabrikam.com** — ask a colleague to introduce you",
                   "zh": "**引荐 fabrikam.com** — 请同事为您引荐"},
    "help_mine": {"en": "**my accounts** / **my leads** / **my opportunities** — yours (a manager's: with "
                        "their team's), by health",
                  "zh": "**我的客户** / **我的线索** / **我的商机** — 按健康度排序（经理看到的是整个团队的）"},
    "not_found": {"en": "I couldn't find \"{text}\" among your contacts, companies or records.",
                  "zh": "在您的联系人、公司或记录中找不到“{text}”。"},
    "ambiguous": {"en": "\"{text}\" matches several accounts: {names}. Which one?",
                  "zh": "“{text}”匹配到多个客户：{names}。请问是哪一个？"},
    "ambiguous_more": {"en": "\"{text}\" matches {count} accounts: {names} and {more} more — be more specific.",
                       "zh": "“{text}”匹配 {count} 个客户：{names}，另有 {more} 个未列出，请说得更具体一些。"},
    "ambiguous_records": {"en": "\"{text}\" is the name of {count} records: {names}. Say which by its id, e.g. "
                                "**{example}**.",
                          "zh": "“{text}”是 {count} 条记录的名称：{names}。请用编号指明，例如 **{example}**。"},
    "ambiguous_record": {"en": "\"{text}\" is both a lead and an opportunity: say **lead {text}** or "
                               "**opportunity {text}**.",
                         "zh": "“{text}”既是线索编号，也是商机编号：请说 **线索 {text}** 或 **商机 {text}**。"},
    "personal_mail": {"en": "{domain} is a personal e-mail provider, not a company: the people who write from it "
                            "have nothing else in common. Ask about one person's address instead, e.g. "
                            "**{example}**.",
                      "zh": "{domain} 是个人邮箱服务商，不是公司：用它写信的人彼此并无关联。请改问某个人的邮箱地址，"
                            "例如 **{example}**。"},
    "example_score_lead": {"en": "score of lead {id}", "zh": "线索 {id} 的评分"},
    "example_score_opportunity": {"en": "score of opportunity {id}", "zh": "商机 {id} 的评分"},
    "example_health": {"en": "health of {target}", "zh": "{target} 的健康度如何"},
    "example_who": {"en": "who knows {target}", "zh": "谁认识 {target}"},
    "not_allowed": {"en": "You can see the relationships you (or your team) take part in; \"{text}\" isn't one of "
                          "them. Account-level health is open to everyone.",
                    "zh": "您只能查看您（或您的团队）参与的关系；“{text}”不在其中。客户级别的健康度对所有人开放。"},
    "health_title": {"en": "Relationship health: {label}", "zh": "关系健康度：{label}"},
    "score": {"en": "Score", "zh": "分数"},
    "state": {"en": "State", "zh": "状态"},
    "trend": {"en": "Trend", "zh": "趋势"},
    "last": {"en": "Last interaction", "zh": "最近互动"},
    "next": {"en": "Next meeting", "zh": "下次会议"},
    "none": {"en": "none", "zh": "无"},
    "none_in_window": {"en": "none in the last {days} days", "zh": "最近 {days} 天无"},
    "interactions": {"en": "Interactions ({days} days)", "zh": "互动次数（{days} 天）"},
    "emails": {"en": "Emails sent / received", "zh": "发送 / 收到的邮件"},
    "response": {"en": "Avg first response (us / them)", "zh": "平均首次回复（我方 / 对方）"},
    "factors": {"en": "What moved the score", "zh": "影响分数的因素"},
    "hours": {"en": "{value} h", "zh": "{value} 小时"},
    "zone_minutes": {"en": "{zone}, {minutes} min", "zh": "{zone}，{minutes} 分钟"},  # a created meeting's
    # a detail after a value: "2026-09-30 (email)"; Chinese text takes full-width parentheses, unspaced
    "aside": {"en": "{value} ({detail})", "zh": "{value}（{detail}）"},
    "your_connection": {"en": "Your connection: {level} ({strength:.0f})", "zh": "您的联系：{level}（{strength:.0f}）"},
    "not_computed": {"en": "Health isn't computed for closed records.", "zh": "已关闭的记录不计算健康度。"},
    "who_title": {"en": "Who knows {label}", "zh": "谁认识 {label}"},
    "who_none": {"en": "Nobody in your organisation has a connection with {label} yet.",
                 "zh": "贵组织中暂时没有人与 {label} 有联系。"},
    "who_path": {"en": "No direct connection. {colleague} knows {via} ({relation}), who can reach {label}.",
                 "zh": "没有直接联系。{colleague} 认识 {via}（{relation}），可通过对方联系到 {label}。"},
    "who_opted_out": {"en": "{count} colleagues opted out and are not shown.",
                      "zh": "{count} 位同事已选择退出，未显示。"},
    "who_opted_out.one": {"en": "1 colleague opted out and is not shown."},  # Chinese: one form (see ``tn``)
    "ask_intro": {"en": "Ask {name} for an intro", "zh": "请 {name} 引荐"},
    "strength": {"en": "{level} · {strength:.0f} · last {kind} {when}", "zh": "{level} · {strength:.0f} · 最近{kind} {when}"},
    "mine_accounts": {"en": "My accounts", "zh": "我的客户"},
    "mine_leads": {"en": "My leads", "zh": "我的线索"},
    "mine_opportunities": {"en": "My opportunities", "zh": "我的商机"},
    "mine_team_accounts": {"en": "My team's accounts", "zh": "我团队的客户"},
    "mine_team_leads": {"en": "My team's leads", "zh": "我团队的线索"},
    "mine_team_opportunities": {"en": "My team's opportunities", "zh": "我团队的商机"},
    "mine_none": {"en": "Nothing here yet.", "zh": "暂无内容。"},
    "mine_more": {"en": "The first {shown} of {total}.", "zh": "共 {total} 条，显示前 {shown} 条。"},
    "intro_sent": {"en": "I asked {name} whether they can introduce you to {label}. I'll let you know.",
                   "zh": "我已询问 {name} 能否将您引荐给 {label}，稍后告诉您结果。"},
    "intro_opted_out": {"en": "{name} has opted out of introductions since this card was shown, so I haven't asked "
                              "them.",
                        "zh": "此卡片显示后，{name} 已选择不参与引荐，因此我没有去询问。"},
    "intro_unreachable": {"en": "{name} hasn't installed Rapport in Teams, so I can't ask them. Try them directly.",
                          "zh": "{name} 尚未在 Teams 中安装 Rapport，我无法询问。请直接联系对方。"},
    "intro_request": {"en": "{requester} asks whether you could introduce them to {label}.",
                      "zh": "{requester} 想请您将其引荐给 {label}。"},
    "accept": {"en": "Accept", "zh": "接受"},
    "decline": {"en": "Decline", "zh": "拒绝"},
    "intro_accepted_you": {"en": "You accepted. {requester} got an introduction draft.",
                           "zh": "您已接受。{requester} 已收到引荐草稿。"},
    "intro_declined_you": {"en": "You declined. Nothing was sent.", "zh": "您已拒绝，未发送任何内容。"},
    "intro_declined": {"en": "{name} can't make the introduction to {label} right now.",
                       "zh": "{name} 目前无法为您引荐 {label}。"},
    "intro_draft_title": {"en": "{name} agreed to introduce you to {label}", "zh": "{name} 同意将您引荐给 {label}"},
    "intro_draft": {"en": "Hi {target_first}, I'd like to introduce {requester}, a colleague of mine who works "
                          "with {org}. I think you two should talk. {requester}, {target_first} — over to you!",
                    "zh": "{target_first} 您好，我想向您介绍我的同事 {requester}。我觉得你们值得聊一聊，接下来就交给你们了！"},
    "intro_draft_hint": {"en": "Send it to {name} to forward, or copy it into your own email.",
                         "zh": "可交给 {name} 转发，或复制到您自己的邮件中。"},
    # privacy (bot/conversation/privacy.py): what an opt-out does is what the who-knows queries do with it
    "help_privacy": {"en": "**my privacy** / **opt out** / **opt back in** — whether colleagues see you in who-knows "
                           "answers and can ask you for intros; leave or come back",
                     "zh": "**隐私设置** / **我要退出** / **重新加入** — 同事能否在“谁认识”结果中看到您并请您引荐；退出或重新加入"},
    "privacy_done_who": {"en": "Done: you've opted out of who knows whom.", "zh": "已完成：您已退出“谁认识谁”。"},
    "privacy_done_all": {"en": "Done: you've opted out of everything Rapport shares about you with colleagues.",
                         "zh": "已完成：您已退出 Rapport 向同事分享您信息的所有功能。"},
    "privacy_effect": {"en": "Your colleagues will no longer see you as someone who knows a contact or company, nor "
                             "be offered an introduction through you. This takes effect immediately, including for "
                             "your past mail and meetings.",
                       "zh": "同事将不再看到您认识某位联系人或某家公司，也不会再被建议请您引荐。此设置立即生效，"
                             "您过去的邮件和会议也包括在内。"},
    "privacy_all_covers": {"en": "It also covers talking points (conversation starters from your mail's subjects), "
                                 "which this Rapport doesn't offer yet.",
                           "zh": "这也包括“谈话要点”（根据您的邮件主题生成的话题建议），此版本的 Rapport 尚未提供该功能。"},
    "privacy_still": {"en": "Your mail is still synced and still counts in relationship health, so your own answers "
                            "(health, my accounts) work as before.",
                      "zh": "您的邮件仍会同步，并仍计入关系健康度，因此您自己的查询（健康度、我的客户等）照常可用。"},
    "privacy_undo": {"en": "To undo it, say **opt back in**.", "zh": "如需撤销，请说 **重新加入**。"},
    "privacy_already_who": {"en": "You're already opted out of who knows whom (since {since}): nothing changed.",
                            "zh": "您已经退出了“谁认识谁”（自 {since} 起），无需重复操作。"},
    "privacy_already_all": {"en": "You're already opted out of everything, who knows whom included (since {since}): "
                                  "nothing changed.",
                            "zh": "您已经退出了所有功能，包括“谁认识谁”（自 {since} 起），无需重复操作。"},
    "privacy_in_done": {"en": "Welcome back: colleagues can see you again among those who know a contact or company, "
                              "and ask you for an introduction (you're always asked first and can decline). This "
                              "takes effect immediately. To leave again, say **opt out**.",
                        "zh": "欢迎回来：同事可以再次在“谁认识”结果中看到您，并请您引荐（会先征求您的同意，您可以拒绝）。"
                              "此设置立即生效。如需再次退出，请说 **我要退出**。"},
    "privacy_in_already": {"en": "You aren't opted out: colleagues can see you in who-knows answers and ask you for "
                                 "introductions. Say **opt out** to stop that.",
                           "zh": "您没有退出：同事可以在“谁认识”结果中看到您并请您引荐。如需停止，请说 **我要退出**。"},
    "privacy_status_in": {"en": "You're in: colleagues asking who knows a contact or company can see you among those "
                                "who know them, with your connection's strength and the date and type of your last "
                                "interaction, and ask you for an introduction (you're asked first and can decline). "
                                "Say **opt out** to stop that, or **opt out of everything**.",
                          "zh": "您目前在“谁认识谁”中：同事查询谁认识某位联系人或某家公司时，可以看到您、您的联系强度以及最近"
                                "一次互动的日期和类型，并可请您引荐（会先征求您的同意，您可以拒绝）。如需停止，请说 "
                                "**我要退出**，或 **退出所有**。"},
    "privacy_status_who": {"en": "You've been opted out of who knows whom since {since}: colleagues don't see you as "
                                 "someone who knows a contact or company, nor are they offered an introduction "
                                 "through you, for your past mail and meetings too.",
                           "zh": "您自 {since} 起已退出“谁认识谁”：同事看不到您认识某位联系人或某家公司，也不会被建议请您"
                                 "引荐，您过去的邮件和会议也包括在内。"},
    "privacy_status_all": {"en": "You've been opted out of everything Rapport shares about you with colleagues since "
                                 "{since}: colleagues don't see you as someone who knows a contact or company, nor "
                                 "are they offered an introduction through you, for your past mail and meetings too; "
                                 "talking points (not offered yet) would leave you out as well.",
                           "zh": "您自 {since} 起已退出 Rapport 向同事分享您信息的所有功能：同事看不到您认识某位联系人或某家"
                                 "公司，也不会被建议请您引荐，您过去的邮件和会议也包括在内；“谈话要点”（尚未提供）同样不会"
                                 "使用您的信息。"},
    "privacy_someone_else": {"en": "I can only change your own privacy setting, not {who}'s. They can tell me "
                                   "**opt out** themselves, or a Rapport admin can record it with "
                                   "`rapport users opt-out EMAIL`.",
                             "zh": "我只能更改您自己的隐私设置，无法更改 {who} 的。对方可以自己对我说 **我要退出**，"
                                   "或由 Rapport 管理员运行 `rapport users opt-out EMAIL` 记录。"},
    "privacy_which": {"en": "I can opt you out of who knows whom (**opt out**) or of everything Rapport shares about "
                            "you with colleagues (**opt out of everything**).",
                      "zh": "我可以让您退出“谁认识谁”（**我要退出**），或退出 Rapport 向同事分享您信息的所有功能（**退出所有**）。"},
    # notes
    "help_note": {"en": "**note:** *paste a meeting note* — suggested meetings, calls, tasks and contacts to create in "
                        "Outlook and To Do (pasting a note works too)",
                  "zh": "**笔记：** *粘贴会议记录* — 建议创建的会议、电话、待办和联系人（直接粘贴也可以）"},
    "note_nothing": {"en": "I didn't find anything to schedule or do in that note.",
                     "zh": "这条笔记里没有找到需要安排或处理的事项。"},
    "suggested": {"en": "Suggested: {what}", "zh": "建议：{what}"},
    "kind_meeting": {"en": "Meeting", "zh": "会议"},
    "kind_call": {"en": "Phone call", "zh": "电话"},
    "kind_task": {"en": "Task", "zh": "任务"},
    "kind_content_request": {"en": "Send content", "zh": "发送资料"},
    "kind_issue": {"en": "Follow up on an issue", "zh": "跟进问题"},
    "kind_contact": {"en": "New contact", "zh": "新联系人"},
    "kind_contact_known": {"en": "Save a known contact in Outlook", "zh": "将已知联系人保存到 Outlook"},
    "note_contact_known": {"en": "Rapport already knows {who} from your organisation's mail and meetings; this "
                                 "adds them to your own Outlook contacts.",
                           "zh": "Rapport 已从贵公司的邮件和会议中认识 {who}；此操作会将其添加到您自己的 Outlook 联系人。"},
    "note_attendee_inferred": {"en": "Attendee not named in this sentence, taken from the rest of the note: {who}",
                               "zh": "此句未提到参与者，取自笔记其他部分：{who}"},
    "note_attendee_known": {"en": "Address from Rapport's contacts: {who}", "zh": "邮箱地址来自 Rapport 的联系人：{who}"},
    "field_title": {"en": "Title", "zh": "标题"},
    "field_date": {"en": "Date", "zh": "日期"},
    "field_time": {"en": "Start time", "zh": "开始时间"},
    "field_duration": {"en": "Duration (minutes)", "zh": "时长（分钟）"},
    "field_attendees": {"en": "Attendees (email addresses)", "zh": "参与者（邮箱地址）"},
    "field_due": {"en": "Due", "zh": "截止日期"},
    "field_when": {"en": "When", "zh": "时间"},
    "field_name": {"en": "Name", "zh": "姓名"},
    "field_email": {"en": "Email", "zh": "邮箱"},
    "field_phone": {"en": "Phone", "zh": "电话"},
    "field_company": {"en": "Company", "zh": "公司"},
    "field_required": {"en": "Required", "zh": "必填"},
    "confidence": {"en": "Confidence {value} %", "zh": "置信度 {value}%"},
    "field_job_title": {"en": "Job title", "zh": "职位"},
    "create_contact": {"en": "Add to my Outlook contacts", "zh": "添加到我的 Outlook 联系人"},
    "sign_in": {"en": "Sign in so Rapport can add this to your Outlook", "zh": "请登录，以便 Rapport 添加到您的 Outlook"},
    "created_contact": {"en": "Added to your Outlook contacts", "zh": "已添加到您的 Outlook 联系人"},
    "note_bad_contact": {"en": "Please give a name and, if any, a valid email address.",
                         "zh": "请填写姓名，如有邮箱请填写有效的邮箱地址。"},
    "create_event": {"en": "Create in my calendar", "zh": "添加到我的日历"},
    "create_task": {"en": "Add to my To Do", "zh": "添加到我的待办"},
    "created_event": {"en": "Added to your calendar", "zh": "已添加到您的日历"},
    "created_task": {"en": "Added to your To Do", "zh": "已添加到您的待办"},
    "open_outlook": {"en": "Open in Outlook", "zh": "在 Outlook 中打开"},
    "note_body": {"en": "Created by Rapport from your note: “{quote}”", "zh": "由 Rapport 根据您的笔记创建：“{quote}”"},
    "note_bad_when": {"en": "Please give a valid date and time.", "zh": "请填写有效的日期和时间。"},
    "note_write_failed": {"en": "Outlook didn't accept it (status {status}). Nothing was created; try again.",
                          "zh": "Outlook 未能接受（状态 {status}），未创建任何内容，请重试。"},
    # scores
    "help_score": {"en": "**score of lead NAME or ID** / **score of opportunity NAME or ID** — predictive score, "
                         "grade and the reasons behind it",
                   "zh": "**线索 L-1 的评分** / **商机 O-7 的评分**（编号或名称均可）— 预测评分、等级及原因"},
    "score_title_lead": {"en": "Lead score: {label}", "zh": "线索评分：{label}"},
    "score_title_opportunity": {"en": "Opportunity score: {label}", "zh": "商机评分：{label}"},
    "grade": {"en": "Grade", "zh": "等级"},
    "previous": {"en": "was", "zh": "上次"},
    "previous_none": {"en": "was –", "zh": "此前未评分"},
    "likely_lead": {"en": "Likely to qualify", "zh": "可能转化"},
    "likely_opportunity": {"en": "Likely to win", "zh": "可能赢单"},
    "likely_cutoff": {"en": "{answer} (the model says yes from {cutoff} up)",
                      "zh": "{answer}（模型在 {cutoff} 分及以上判为是）"},
    "yes": {"en": "yes", "zh": "是"},
    "no": {"en": "no", "zh": "否"},
    "stuck": {"en": "Stuck: {why}", "zh": "停滞：{why}"},
    "reasons_up": {"en": "What raises it", "zh": "加分因素"},
    "reasons_down": {"en": "What holds it back", "zh": "减分因素"},
    "score_no_model": {"en": "There is no published {name} scoring model yet, so I can't score it. An admin can "
                             "train one with `rapport scoring train {kind}`.",
                       "zh": "尚无已发布的{name}评分模型，无法评分。管理员可运行 `rapport scoring train {kind}` 训练模型。"},
    "score_closed": {"en": "This {name} is closed: the score is what the model would give it today, not its outcome.",
                     "zh": "此{name}已关闭：评分是模型按当前数据给出的，并非其实际结果。"},
    "score_which": {"en": "Scores are for leads and opportunities: say **score of lead NAME or ID** or "
                          "**score of opportunity NAME or ID**.",
                    "zh": "评分仅适用于线索和商机：请说 **线索 L-1 的评分** 或 **商机 O-7 的评分**（编号或名称均可）。"},
    # digests
    "digest_title": {"en": "Weekly digest for {name}", "zh": "{name} 的每周摘要"},
    "digest_intro": {"en": "Your team of {size}, as of {day}.", "zh": "您的团队共 {size} 人，数据截至 {day}。"},
    "digest_declining": {"en": "Declining relationships", "zh": "正在减弱的关系"},
    "digest_hot": {"en": "Hot leads", "zh": "热门线索"},
    "digest_stuck": {"en": "Stuck deals", "zh": "停滞的商机"},
    "digest_activity": {"en": "Team activity (last 4 weeks)", "zh": "团队活动（最近 4 周）"},
    "digest_none": {"en": "Nothing this week.", "zh": "本周无。"},
    "kind_short_account": {"en": "account", "zh": "客户"},
    "kind_short_lead": {"en": "lead", "zh": "线索"},
    "kind_short_opportunity": {"en": "opportunity", "zh": "商机"},
}


# The analytics' fixed vocabulary (health states and trends, connection levels, interaction kinds, health factors,
# score trends, CRM statuses) as shown in a Chinese card; English cards show the words as they are.
WORDS_ZH: dict[str, str] = {
    "Good": "良好", "Fair": "一般", "Poor": "较差", "Not enough info": "信息不足", "Not computed": "未计算",
    "Improving": "上升", "Steady": "平稳", "Declining": "下降", "New": "新",
    "Strong": "强", "Moderate": "中等", "Weak": "弱",
    "email": "邮件", "meeting": "会议", "call": "电话", "task": "任务",
    "shared interactions": "有过共同往来", "same company": "同一家公司",  # a two-hop intro path's relation
    "activity": "活跃度", "recency": "近期互动", "reciprocity": "互动对等性", "responsiveness": "回复及时性",
    "open": "进行中", "qualified": "已转化", "disqualified": "已取消", "won": "赢单", "lost": "输单",
    "closed": "已关闭",
}


def word(value: str, lang: Lang) -> str:
    """One word of the analytics' vocabulary (see ``WORDS_ZH``) in ``lang``; anything else (CRM data) unchanged."""
    return WORDS_ZH.get(value, value) if lang == "zh" else value


# The scoring's stuck-deal sentence (``analytics.scoring.policy.stuck_flag``), which a score stores as text only.
_STUCK_EN = re.compile(r"in (?P<stage>.+) for (?P<days>\d+) days; won deals left it within (?P<limit>\d+) days")


def stuck_reason(text: str, lang: Lang) -> str:
    """Why a deal is stuck, in ``lang``: the Chinese digest and score card showed the English sentence. Text of
    another shape is shown as it is (the stage is CRM data and stays as imported)."""
    found = _STUCK_EN.fullmatch(text) if lang == "zh" else None
    if found is None:
        return text
    return f"在 {found['stage']} 阶段已 {found['days']} 天；赢单的商机在 {found['limit']} 天内就进入了下一阶段"


# The health factors' explanations in Chinese, by the analytics' explanation key (``EXPLANATION_ARGS`` in
# analytics.relationships.explanations), formatted with the numbers it quotes as the English sentence formats them.
EXPLANATIONS_ZH: dict[str, str] = {
    "activity": "最近 {days} 天加权互动 {recent:.0f} 次（健康的记录约 {expected:g} 次）",
    "recency": "上次互动在 {gap} 天前（预期至少每 {expected_gap:.0f} 天一次）",
    "recency.none": "统计期内没有互动",
    "reciprocity": "对方发起了 {share:.0f}% 的加权往来",
    "reciprocity.none": "没有往来",
    "responsiveness": "我们主动联系的 {asked} 天里，对方有 {answered} 天在 {days} 天内回复",
    "responsiveness.unprompted": "对方主动联系了我们，无需我们先联系",
    "responsiveness.none": "没有需要对方回复的联系",
}


def explanation(text: str, lang: Lang) -> str:
    """A health factor's explanation in ``lang``: the analytics' English sentence, or in Chinese from what it says
    (a :class:`FactorExplanation`'s key and numbers); text without them, or a key without a Chinese sentence,
    is shown as it is."""
    if lang != "zh" or not isinstance(text, FactorExplanation) or text.key not in EXPLANATIONS_ZH:
        return str(text)
    return EXPLANATIONS_ZH[text.key].format(**text.args)


# Score reasons in Chinese, from what a reason says (``analytics.scoring.explain.Reason``: its feature, value, rate,
# counts, overall rate, band, record type and whether the rate supports it). Product-defined feature labels are
# translated by feature key; a CRM field's name (from the customer's mapping) is kept as it is, with only the
# product's own words around it ("Account's …", "… (days after creation)") translated; values likewise.
SCORE_FEATURES_ZH: dict[str, str] = {
    "owner": "负责人", "amount": "金额", "intelligent.email_domain": "邮箱类型", "intelligent.name": "联系人姓名",
    "rel.emails_from_us": "我方去信数", "rel.emails_from_them": "对方来信数",
    "rel.meetings_organised_by_us": "我方组织的会议数", "rel.meetings_organised_by_them": "对方组织的会议数",
    "rel.calls_from_us": "我方去电数", "rel.calls_from_them": "对方来电数",
    "rel.interactions_they_initiated": "对方发起的互动数", "rel.our_response_hours": "我方首次回复小时数",
    "rel.their_response_hours": "对方首次回复小时数", "rel.their_response_rate": "对方回复率",
    "rel.days_since_last_interaction": "距上次互动天数",
}
_SCORE_PREFIXES_ZH = (("contact.", "Contact's ", "联系人的"), ("account.", "Account's ", "客户的"))
_SCORE_DATE_SUFFIX = (" (days after creation)", "（创建后天数）")
SCORE_VALUES_ZH: dict[str, str] = {"not filled in": "未填写", "unknown": "未知", "(other)": "（其他）"}
_INTELLIGENT_VALUES_ZH: dict[str, str] = {  # the intelligent fields' values (analytics.scoring.intelligent)
    "business": "企业邮箱", "free-mail": "免费邮箱", "disposable": "一次性邮箱",
    "plausible": "像真实姓名", "implausible": "不像真实姓名", "single word": "只有一个词",
}
SCORE_OUTCOMES_ZH: dict[str, tuple[str, str]] = {"lead": ("线索", "已转化"), "opportunity": ("商机", "赢单")}


def _after(text: str, particle: str) -> str:
    """``particle`` after ``text``, spaced from Latin letters and digits as Chinese typesetting does."""
    return f"{text}{' ' if text[-1:].isascii() else ''}{particle}"


def _then(text: str, value: str) -> str:
    """``value`` after ``text``, spaced only where Latin letters or digits meet Chinese ("为 BR", "为免费邮箱")."""
    return f"{text}{' ' if text[-1:].isascii() or value[:1].isascii() else ''}{value}"


# The intelligent name field's values say what the name is like: "联系人姓名像真实姓名", not "…为 像真实姓名"
_NAME_PREDICATE = "intelligent.name"


def score_label(feature: str, label: str) -> str:
    """A scoring feature's label in Chinese: a product-defined feature's name, else the CRM field's name as it is
    with the product's words around it translated."""
    if feature in SCORE_FEATURES_ZH:
        return SCORE_FEATURES_ZH[feature]
    english_suffix, suffix = _SCORE_DATE_SUFFIX
    tail = suffix if label.endswith(english_suffix) else ""
    name = label.removesuffix(english_suffix) if tail else label
    for key_prefix, english, chinese in _SCORE_PREFIXES_ZH:
        if feature.startswith(key_prefix) and name.startswith(english):
            return f"{chinese} {name.removeprefix(english)}{tail}"
    return name + tail


def score_reason(reason: Reason, lang: Lang) -> str:
    """A score reason in ``lang``: the analytics' English sentence, or in Chinese from what it says; a reason
    without its structure (details stored before it was kept) is shown as it is."""
    if lang != "zh" or reason.record_type not in SCORE_OUTCOMES_ZH:
        return reason.text
    plural, outcome = SCORE_OUTCOMES_ZH[reason.record_type]
    label = score_label(reason.feature, reason.label)
    values = _INTELLIGENT_VALUES_ZH if reason.feature.startswith("intelligent.") else {}
    value = values.get(reason.value) or SCORE_VALUES_ZH.get(reason.value, reason.value)
    if reason.value == "not filled in":
        said = _after(label, "未填写")
    elif reason.feature == _NAME_PREDICATE and value != reason.value:
        said = label + value
    else:
        said = _then(_after(label, "为"), value)
    if reason.rate is None or reason.count is None or reason.positives is None or reason.overall is None:
        return said
    # A band of one value ("2", not "2–30") is that value: "为 2 的", not "在 2 的"
    particle = "在" if reason.band is not None and "–" in reason.band else "为"
    scope = f"此类{plural}" if reason.band is None else f"{_after(label, particle)} {reason.band} 的{plural}"
    said += (f" — {scope}中 {reason.rate:.0%} {outcome}"
             f"（{reason.count} 个中 {reason.positives} 个；总体 {reason.overall:.0%}）")
    if reason.supported is False:
        said += f"，但综合其他字段后{'提高' if reason.contribution > 0 else '降低'}了评分"
    return said


def lang_of(locale: str | None) -> Lang:
    """``zh`` for any Chinese locale (zh, zh-CN, zh-TW, …), else ``en``."""
    return "zh" if locale and locale.strip().lower().startswith("zh") else "en"


def t(key: str, lang: Lang, **values: object) -> str:
    """The message ``key`` in ``lang``, formatted with ``values``."""
    entry = MESSAGES[key]
    return entry.get(lang, entry["en"]).format(**values)


def tn(key: str, lang: Lang, count: int, **values: object) -> str:
    """The message ``key`` for ``count`` of something: ``key.one`` when ``count`` is 1 and that entry has the
    language (English says "1 second"; Chinese has no plural, so it has no ``.one`` entry), else ``key``. The
    message may show the number as ``{count}``."""
    one = MESSAGES.get(f"{key}.one", {})
    if count == 1 and lang in one:
        return one[lang].format(count=count, **values)
    return t(key, lang, count=count, **values)


def sentences(parts: list[str], lang: Lang) -> str:
    """Sentences joined into one paragraph: English puts a space after each full stop, Chinese none (a space after
    "。" shows as a gap in the middle of the line)."""
    return ("" if lang == "zh" else " ").join(parts)


def names_list(names: list[str], lang: Lang) -> str:
    """Names joined as the language writes a list (Chinese with the enumeration comma)."""
    return ("、" if lang == "zh" else ", ").join(names)
