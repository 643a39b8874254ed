"""JSON columns as stored (cchc.runtime.sqldb.json_text), on SQLite and PostgreSQL."""

from sqlalchemy import JSON, Column, Integer, MetaData, Table, select

from cchc.runtime.sqldb import create_engine, json_text

metadata = MetaData()
documents = Table("json_documents", metadata, Column("id", Integer, primary_key=True),
                  Column("body", JSON, nullable=False))


def test_json_text_is_compact_utf8_and_keeps_what_orjson_refuses():
    assert json_text({"tên": "Nguyễn Văn An", "n": [1, 2.5, None, True]}) == \
        '{"tên":"Nguyễn Văn An","n":[1,2.5,null,true]}'
    assert json_text({1: "a"}) == '{"1":"a"}'  # as the standard library writes it
    assert json_text({"big": 2**70}) == '{"big": 1180591620717411303424}'


async def test_json_values_come_back_as_they_went_in(db_url):
    engine = create_engine(db_url)
    bodies = [{"applicant": {"name": "Trần Thị Bích", "phone": "0912"}, "days": [1, 2]},
              {"big": 2**70, "nested": {"k": [None, False, 1.5]}}]
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
        await conn.run_sync(metadata.create_all)
        await conn.execute(documents.insert(), [{"id": i, "body": b} for i, b in enumerate(bodies)])
    async with engine.connect() as conn:
        stored = (await conn.execute(select(documents.c.body).order_by(documents.c.id))).scalars()
        assert list(stored) == bodies
    async with engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
    await engine.dispose()
