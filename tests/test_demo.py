"""The demo data: Chinese product names (a search for 阀 finds the valves) and customers in the
region of their city."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.db import Database
from hub.demo import load_demo
from hub.domain.customers.models import Customer, Region
from hub.settings import Settings
from tests.support import Hub

# The sales region of each city, written out here rather than read from hub.demo.
REGION_OF_CITY = {
    "上海": "East China 华东", "杭州": "East China 华东", "苏州": "East China 华东", "南京": "East China 华东",
    "广州": "South China 华南", "深圳": "South China 华南", "佛山": "South China 华南", "东莞": "South China 华南",
    "北京": "North China 华北", "天津": "North China 华北", "石家庄": "North China 华北",
    "成都": "Southwest 西南", "重庆": "Southwest 西南", "昆明": "Southwest 西南",
    "武汉": "Central China 华中", "长沙": "Central China 华中", "郑州": "Central China 华中",
}  # fmt: skip
LOGIN = (
    "mutation($e: String!, $p: String!) { tokenCreate(email: $e, password: $p) { token errors { message } } }"
)
SEARCH = '{ products(first: 100, search: "阀") { edges { node { sku name } } } }'


@pytest.mark.slow
async def test_demo_products_have_chinese_names_and_customers_the_region_of_their_city(
    settings: Settings, db: Database
) -> None:
    # given the demo data
    logins = await load_demo(settings)
    # when a demo buyer logs in and searches the catalog for 阀 (valve)
    email, password, _roles = next(row for row in logins if row[0] == "buyer01@demo.hub")
    async with Hub.start(settings, db) as hub:
        token = (await hub.data(LOGIN, {"e": email, "p": password}))["tokenCreate"]["token"]
        assert token
        answer = await hub.post({"query": SEARCH}, token)
    # then it finds the valves: every ball, gate, angle, check valve … and the flush valves
    names = [e["node"]["name"] for e in answer.json()["data"]["products"]["edges"]]
    assert len(names) >= 10 and all("阀" in n for n in names)
    assert any(n.startswith("球阀 DN25 Ball valve DN25") for n in names)
    assert any(n.startswith("闸阀 DN50 Gate valve DN50") for n in names)
    # and every demo customer is in the region its city belongs to
    async with db.read() as s:
        customers = (
            await s.execute(select(Customer.name, Region.name).join(Region, Region.id == Customer.region_id))
        ).all()
    assert len(customers) == 24
    for name, region in customers:
        cities = [c for c in REGION_OF_CITY if name.startswith(c)]
        assert len(cities) == 1, name
        assert region == REGION_OF_CITY[cities[0]], name
    # over more than one region
    assert len({region for _name, region in customers}) == 5
