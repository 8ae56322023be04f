"""Notice contexts as the notice service prepares them, for the document layer's tests and
its benchmark: realistic Chinese wording, print-copy photos as data URIs."""

from __future__ import annotations

import base64
import functools

from shopper.photos import pipeline
from tests.photos import images

ITEMS = [
    (
        "网点6S管理",
        "整理",
        "six_s.sort.counter",
        "柜台台面仅放置必要的办公用品，无私人物品、无杂物堆放",
    ),
    ("网点6S管理", "整顿", "six_s.order.brochures", "宣传折页按类别摆放整齐，无过期、破损资料"),
    ("网点6S管理", "清扫", "six_s.clean.floor", "营业大厅地面、玻璃门窗洁净，无污渍、无积尘"),
    ("网点6S管理", "清洁", "six_s.clean.atm", "自助设备区屏幕、键盘清洁，设备外观无张贴广告"),
    ("网点6S管理", "素养", "six_s.manner.uniform", "员工按规定统一着装，佩戴工号牌，仪容整洁"),
    ("网点6S管理", "安全", "six_s.safety.exit", "安全通道畅通，消防器材在有效期内并摆放到位"),
    ("柜面服务七步曲", "迎接", "teller.greet.stand", "客户临柜时起身迎接，主动问候“您好，请坐”"),
    ("柜面服务七步曲", "受理", "teller.accept.both_hands", "双手接递客户证件和单据，唱收唱付"),
    ("柜面服务七步曲", "办理", "teller.handle.explain", "办理业务时向客户解释业务要点及风险提示"),
    ("柜面服务七步曲", "确认", "teller.confirm.sign", "请客户确认交易信息并签字，指示签名位置"),
    ("柜面服务七步曲", "递交", "teller.return.docs", "业务办理完毕后双手递还证件、回单和银行卡"),
    ("柜面服务七步曲", "送别", "teller.farewell", "客户离开时主动道别“请慢走，欢迎再来”"),
    ("文明用语五声", "来有迎声", "courtesy.welcome", "大堂经理主动迎接客户并询问业务需求"),
    ("文明用语五声", "问有答声", "courtesy.answer", "客户咨询时耐心解答，不推诿、不敷衍"),
    ("文明用语五声", "慢有歉声", "courtesy.sorry", "客户等候较久时主动致歉并说明原因"),
    ("文明用语五声", "谢有回声", "courtesy.thanks", "客户致谢时回应“不客气，这是我应该做的”"),
    ("文明用语五声", "走有送声", "courtesy.goodbye", "客户离开网点时主动道别"),
    ("网点6S管理", "整理", "six_s.sort.drawer", "现金抽屉内物品分类放置，无与业务无关物品"),
    ("网点6S管理", "整顿", "six_s.order.queue", "叫号机、填单台单据齐全，摆放规范"),
    ("柜面服务七步曲", "办理", "teller.handle.time", "单笔存取款业务办理时间不超过5分钟"),
]
NOTES = [
    "柜台左侧放有员工私人水杯及手机，台面堆放未归档凭证约二十张。",
    "理财产品折页中混有两份已过期的宣传资料。",
    "大厅东侧玻璃门有明显手印和污渍。",
    "2号ATM屏幕上方贴有非本行广告。",
]


@functools.cache
def photo_uri(seed: int) -> str:
    """A print copy (longest side 1000 px, our JPEG settings) of a phone-like photo."""
    image = images.photo(pipeline.PRINT_SIDE, pipeline.PRINT_SIDE * 3 // 4, seed=seed)
    data = images.jpeg(image, quality=pipeline.JPEG_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def outlet_notice(findings: int = 20, photos: int = 10, **changes) -> dict:
    """An outlet notice with `findings` findings and `photos` photos spread over them."""
    spread = [0] * findings
    for index in range(photos):
        spread[(index * 2) % max(1, findings)] += 1
    notice = {
        "kind": "outlet",
        "number": "ZG-2026Q4-00012",
        "supersedes": None,
        "bank": "示范银行",
        "issuer": "总行个人金融部服务质量办公室",
        "issued_on": "2026-12-01",
        "deadline": "2026-12-15",
        "dispute_deadline": "2026-12-08",
        "outlet": "人民路支行营业部",
        "outlet_code": "O-001",
        "sub_branch": "城东支行",
        "period": "2026Q4",
        "visit_date": "2026-11-20",
        "mode": "on_site",
        "agency": "某咨询公司",
        "inspector": "张三",
        "visit": {
            "arrived": "09:12",
            "departed": "09:55",
            "waiting_minutes": 12,
            "customers_waiting": 5,
            "windows": "3 / 5",
            "business": "存款",
            "teller_window": "3",
            "teller_badge": "A102",
        },
        "score": "82.5",
        "band": "fail",
        "red_line_failed": False,
        "revised_from": None,
        "sections": [
            {"checklist": "网点6S管理", "title": t, "earned": e, "applicable": "5.0", "score": s}
            for t, e, s in [
                ("整理", "4.0", "80.0"),
                ("整顿", "3.0", "60.0"),
                ("清扫", "5.0", "100.0"),
                ("清洁", "4.0", "80.0"),
                ("素养", "5.0", "100.0"),
                ("安全", "5.0", "100.0"),
            ]
        ]
        + [
            {
                "checklist": "柜面服务七步曲",
                "title": "全流程",
                "earned": "24.0",
                "applicable": "30.0",
                "score": "80.0",
            },
            {
                "checklist": "文明用语五声",
                "title": "五声",
                "earned": "16.0",
                "applicable": "20.0",
                "score": "80.0",
            },
        ],
        "findings": [
            {
                "n": n + 1,
                "checklist": ITEMS[n % len(ITEMS)][0],
                "section": ITEMS[n % len(ITEMS)][1],
                "code": ITEMS[n % len(ITEMS)][2],
                "text": ITEMS[n % len(ITEMS)][3],
                "points": "2.0",
                "red_line": n == 5,
                "note": NOTES[n % len(NOTES)],
                "action": "立即整改，明确专人负责每日营业前检查，并拍照留存整改前后对比。",
                "photos": [photo_uri(n * 10 + k) for k in range(spread[n])],
                "deadline": "2026-12-15",
            }
            for n in range(findings)
        ],
        "verify_url": "http://127.0.0.1:5000/verify/ZG-2026Q4-00012",
    }
    notice.update(changes)
    return notice


def sub_branch_notice(**changes) -> dict:
    names = ["人民路支行营业部", "解放路分理处", "新华街分理处", "滨江路支行", "科技园分理处"]
    notice = {
        "kind": "sub_branch",
        "number": "ZGS-2026Q4-00002",
        "supersedes": None,
        "bank": "示范银行",
        "issuer": "总行个人金融部服务质量办公室",
        "issued_on": "2026-12-01",
        "deadline": "2026-12-15",
        "sub_branch": "城东支行",
        "range": "2026Q4",
        "rank": 6,
        "of": 7,
        "bottom_three": True,
        "average": "84.1",
        "outlets": [
            {
                "outlet": name,
                "code": f"O-00{i + 1}",
                "score": score,
                "band": band,
                "red_line_failed": i == 3,
                "findings": findings,
                "notice": f"ZG-2026Q4-000{12 + i}" if findings else None,
                "deadline": "2026-12-15" if findings else None,
                "visit_date": f"2026-11-{20 + i}",
                "mode": "video" if i == 2 else "on_site",
            }
            for i, (name, score, band, findings) in enumerate(
                zip(
                    names,
                    ["82.5", "91.0", "86.0", "70.0", "88.5"],
                    ["fail", "excellent", "pass", "severe_fail", "pass"],
                    [3, 0, 1, 6, 2],
                    strict=True,
                )
            )
        ],
        "verify_url": "http://127.0.0.1:5000/verify/ZGS-2026Q4-00002",
    }
    notice.update(changes)
    return notice
