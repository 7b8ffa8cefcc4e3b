"""Word lists the generator draws from: names, companies, titles, subjects, mail domains.

Kept as data so the realism can be tuned without touching the simulation.
"""

from __future__ import annotations

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas", "Mia", "Mason",
    "Amelia", "Ethan", "Harper", "Logan", "Evelyn", "Aiden", "Abigail", "Jacob", "Emily", "Michael", "Ella",
    "Daniel", "Grace", "Henry", "Chloe", "Samuel", "Zoe", "David", "Nora", "Joseph", "Lily", "Carter", "Hannah",
    "Owen", "Leah", "Wyatt", "Aria", "Julian", "Priya", "Arjun", "Fatima", "Omar", "Sofia", "Mateo", "Yuki",
    "Hiroshi", "Ingrid", "Lars", "Chiara", "Marco", "Anika", "Tomas", "Elena", "Pierre", "Camille", "Kwame",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee",
    "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Patel", "Sharma", "Khan",
    "Nakamura", "Tanaka", "Larsen", "Rossi", "Bianchi", "Dubois", "Moreau", "Schmidt", "Mensah", "Novak",
)
# (display name in Chinese, given name pinyin, family name pinyin)
CHINESE_NAMES = (
    ("王伟", "wei", "wang"), ("李娜", "na", "li"), ("张敏", "min", "zhang"), ("刘洋", "yang", "liu"),
    ("陈静", "jing", "chen"), ("杨帆", "fan", "yang"), ("赵磊", "lei", "zhao"), ("黄丽", "li", "huang"),
    ("周杰", "jie", "zhou"), ("吴芳", "fang", "wu"), ("徐明", "ming", "xu"), ("孙悦", "yue", "sun"),
    ("马超", "chao", "ma"), ("朱琳", "lin", "zhu"), ("胡军", "jun", "hu"), ("郭婷", "ting", "guo"),
)
COMPANY_WORDS = (
    "Alder", "Birch", "Cobalt", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Iris", "Juniper", "Kestrel",
    "Lumen", "Maple", "Nimbus", "Onyx", "Pioneer", "Quarry", "Redwood", "Summit", "Tidal", "Umber", "Vertex",
    "Willow", "Xenon", "Yarrow", "Zephyr", "Atlas", "Beacon", "Crescent", "Drift", "Echo", "Fjord", "Glacier",
    "Horizon", "Ironwood", "Jade", "Keystone", "Lighthouse", "Meridian", "Northstar", "Orchid", "Pinnacle",
)
COMPANY_SUFFIXES = (
    "Logistics", "Systems", "Foods", "Health", "Energy", "Analytics", "Retail", "Motors", "Labs", "Capital",
    "Textiles", "Pharma", "Robotics", "Media", "Construction", "Telecom", "Insurance", "Aerospace",
)
# (Chinese company name, domain stem)
CHINESE_COMPANIES = (
    ("恒泰科技", "hengtai-tech"), ("华锐物流", "huarui-logistics"), ("金石医疗", "jinshi-med"),
    ("蓝海能源", "lanhai-energy"), ("星辰软件", "xingchen-soft"), ("远航制造", "yuanhang-mfg"),
    ("鼎盛零售", "dingsheng-retail"), ("云杉数据", "yunshan-data"),
)
INDUSTRIES = ("software", "manufacturing", "retail", "healthcare", "finance", "logistics", "energy", "education")
COUNTRIES = ("US", "GB", "DE", "FR", "CN", "JP", "IN", "BR", "CA", "AU", "NL", "SE")
COMPANY_SIZES = ("1-10", "11-50", "51-200", "201-1000", "1001-5000", "5000+")
CONTACT_TITLES = (
    "CEO", "CTO", "CFO", "VP Operations", "VP Engineering", "Director of IT", "Director of Procurement",
    "Head of Data", "Operations Manager", "IT Manager", "Procurement Specialist", "Engineer", "Analyst",
    "Project Manager", "Buyer", "Office Manager", "Consultant",
)
SENIOR_TITLE_PREFIXES = ("CEO", "CTO", "CFO", "VP", "Director", "Head")
FREE_MAIL_DOMAINS = ("gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "qq.com", "163.com", "icloud.com")
TIME_ZONES = (
    # (mailboxSettings.timeZone, offset hours used to place working hours; DST is ignored on purpose)
    ("Pacific Standard Time", -8), ("Eastern Standard Time", -5), ("GMT Standard Time", 0),
    ("W. Europe Standard Time", 1), ("Asia/Shanghai", 8), ("America/Chicago", -6),
)
BUSINESS_SUBJECTS = (
    "Proposal for {company}", "Pricing question", "Follow-up on our call", "Renewal timeline",
    "Quarterly business review", "Contract redlines", "Implementation plan", "Security questionnaire",
    "Intro: {company} x {tenant}", "Demo recap and next steps", "Invoice {n}", "Pilot results",
    "Support escalation {n}", "Updated SOW", "Roadmap preview", "Budget approval", "Onboarding schedule",
    "Licence count for next year", "Reference call request", "Integration with SAP", "Data migration questions",
)
PERSONAL_SUBJECTS = (
    "Congrats on the marathon!", "Great seeing you at the game", "Family vacation photos", "Book recommendation",
    "Happy birthday!", "Ski trip in February?", "Concert tickets", "Golf next week?",
)
CHINESE_SUBJECTS = (
    "关于{company}的报价", "会议纪要", "合同草案", "下周二下午三点开会", "续约事宜", "项目进度更新",
    "技术对接", "发票问题",
)
MEETING_SUBJECTS = (
    "{company} / {tenant} sync", "Discovery call", "Product demo", "QBR with {company}", "Negotiation",
    "Technical deep dive", "Kick-off", "Contract review", "Executive briefing",
)
INTERNAL_SUBJECTS = (
    "Pipeline review", "Forecast for Q{q}", "Deal desk: {company}", "Lunch?", "Travel approval",
    "Territory planning", "Comp plan question", "Slides for tomorrow", "Customer reference list",
)
TEAM_ANNOUNCEMENTS = (
    "Weekly team update", "Quota attainment", "New pricing sheet", "Sales kickoff agenda", "Holiday schedule",
)
NEWSLETTERS = (
    # (display name, address local part, domain, subject)
    ("LinkedIn", "messages-noreply", "linkedin.com", "You appeared in {n} searches this week"),
    ("Gartner Insights", "noreply", "gartner-insights.example", "Top trends in enterprise software"),
    ("Salesforce Newsletter", "newsletter", "salesforce-news.example", "This week in sales"),
    ("Microsoft 365 Message center", "no-reply", "microsoft.com", "Major update: Teams admin center"),
    ("TechCrunch Daily", "newsletter", "techcrunch-daily.example", "Daily Crunch: {n} stories"),
    ("Eventbrite", "noreply", "eventbrite.com", "Reminder: your event is tomorrow"),
    ("36氪", "noreply", "36kr.com", "今日科技要闻"),
)
ROOM_NAMES = ("Boardroom", "Everest", "Kilimanjaro", "Denali", "Aconcagua", "Elbrus", "Vinson", "Matterhorn")
PRODUCTS = ("Platform", "Add-on", "Services")
LEAD_SOURCES = ("web", "referral", "event", "partner", "paid_ads", "cold_outreach")
OPPORTUNITY_SOURCES = ("existing_customer", "referral", "web", "event", "cold_outreach")
STAGES = ("Qualify", "Develop", "Propose", "Close")
