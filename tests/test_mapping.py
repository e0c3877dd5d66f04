import pandas as pd
import pytest
from regiowerk.errors import DeliveryError
from regiowerk.mapping import inert, map_to_canonical
from regiowerk.pseudonymise import pseudonym
from regiowerk.registry import Partner

KEY = b"test-key"


def partner(**mapping_overrides) -> Partner:
    mapping = {
        "source": "*.csv",
        "columns": {"bsn": "BSN", "gemeente_code": "Gemeente", "regeling": "Regeling", "status": "Status",
                    "peildatum": "Peildatum", "postcode": "Postcode", "geboortedatum": "Geboren",
                    "uren_beschikbaar_per_week": "Uren", "rijbewijzen": "Rijbewijs",
                    "ontheffing_arbeidsplicht": "Ontheffing", "participatieladder": "Trede"},
        "values": {"regeling": {"PW": "participatiewet", "IOAW": "ioaw"}},
        "constants": {},
        "date_format": "%d-%m-%Y",
        "list_separator": ";",
        "ignore_columns": ["Voornaam"],
    }
    mapping.update(mapping_overrides)
    return Partner.model_validate({
        "partner_id": "gemeente_test", "naam": "Test", "kind": "gemeente", "regio_code": "AM21",
        "gemeente_code": "GM0503", "contact": "t@example.org", "schedule": "0 6 * * *",
        "connector": {"type": "file", "delimiter": ";", "decimal": ","},
        "datasets": {"werkzoekenden": mapping}})


def frame(rows):
    cols = ["BSN", "Gemeente", "Regeling", "Status", "Peildatum", "Postcode", "Geboren", "Uren", "Rijbewijs",
            "Ontheffing", "Trede", "Voornaam"]
    df = pd.DataFrame(rows, columns=cols, dtype=object)
    df["_bron_rij"] = range(2, len(df) + 2)
    return df


GOOD = ["111222333", "GM0503", "PW", "actief", "01-11-2026", "2611 AB", "15-03-1980", "12,5", "B;C", "N", "4", "Jan"]


def test_maps_types_pseudonymises_and_minimises():
    m = map_to_canonical(frame([GOOD]), partner(), "werkzoekenden", key=KEY, source="x.csv")
    assert m.reasons == {}
    row = m.frame.iloc[0]
    assert row["persoon_id"] == pseudonym("111222333", KEY)
    assert row["postcode4"] == "2611" and row["geboortejaar"] == 1980
    assert row["regeling"] == "participatiewet" and row["uren_beschikbaar_per_week"] == 12.5
    assert row["rijbewijzen"] == "B,C" and not row["ontheffing_arbeidsplicht"]
    assert str(row["peildatum"]) == "2026-11-01" and row["participatieladder"] == 4
    assert row["bron_rij"] == 2
    assert "bsn" not in m.frame.columns and "Voornaam" not in m.frame.columns
    assert "111222333" not in m.frame.to_csv()


def test_row_problems_become_reasons_not_errors():
    bad = list(GOOD)
    bad[0] = "111222334"  # elfproef fails
    bad[2] = "XX"  # unmapped local code
    bad[4] = "31-02-2026"  # impossible date
    bad[5] = "ABCD"
    bad[7] = "veel"
    m = map_to_canonical(frame([GOOD, bad]), partner(), "werkzoekenden", key=KEY, source="x.csv")
    assert list(m.reasons) == [1]
    text = " | ".join(m.reasons[1])
    assert "bsn: fails the elfproef" in text and "111222334" not in text
    assert ("regeling: local code 'XX' has no mapping "
            "(partners/gemeente_test.yml datasets.werkzoekenden.values.regeling)") in text
    assert "peildatum: '31-02-2026' is not a date in format %d-%m-%Y" in text
    assert "postcode: not a Dutch postcode" in text and "ABCD" not in text
    assert "uren_beschikbaar_per_week: 'veel' is not a number" in text
    assert m.frame.loc[1, "persoon_id"] is None


def test_eight_digit_bsn_is_accepted():
    row = list(GOOD)
    row[0] = "12345672"
    m = map_to_canonical(frame([row]), partner(), "werkzoekenden", key=KEY, source="x.csv")
    assert m.reasons == {}
    assert m.frame.loc[0, "persoon_id"] == pseudonym("012345672", KEY)


def test_missing_mapped_column_rejects_the_delivery():
    df = frame([GOOD]).drop(columns=["Regeling"])
    with pytest.raises(DeliveryError) as e:
        map_to_canonical(df, partner(), "werkzoekenden", key=KEY, source="drop/x.csv")
    assert "gemeente_test" in str(e.value) and "'Regeling'" in str(e.value) and "drop/x.csv" in str(e.value)
    assert e.value.column == "Regeling"


def test_formula_values_are_made_inert_in_messages():
    assert inert("=HYPERLINK(\"http://x\")").startswith("''=")
    assert inert("x" * 100).endswith("…'")
