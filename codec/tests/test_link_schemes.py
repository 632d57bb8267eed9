"""The classical link's sixteen schemes: modulation, LLRs, FER order, thresholds and the
schemes each evaluation row tries."""

import json

import numpy as np
import pytest
import torch

from semcom_codec.baselines import link, link_curves
from semcom_codec.evaluation import compare
from semcom_codec.phy.channels import Realisation


def test_the_table_holds_every_modulation_with_every_rate():
    names = [m.name for m in link.MCS_TABLE]
    assert len(names) == 16 and len(set(names)) == 16
    assert names[0] == "bpsk-12" and names[-1] == "64qam-56"
    assert [m.efficiency for m in link.MCS_TABLE] == sorted(m.efficiency for m in link.MCS_TABLE)
    assert link.Mcs.parse("16qam-34") == link.Mcs("16qam", "3/4")
    assert link.Mcs.parse("16qam-34").efficiency == 3.0
    assert link.PAPER_MCS.name == "64qam-12" and link.PAPER_MCS.label == "64-QAM rate 1/2"
    with pytest.raises(ValueError, match="modulation must be one of"):
        link.Mcs.parse("8psk-12")
    with pytest.raises(ValueError, match="code rate must be one of"):
        link.Mcs("qpsk", "1/3")


def test_budgets_of_each_scheme():
    # 49152 symbols: BPSK carries 75 codewords of 648 bits, 64-QAM 455
    assert link.codewords_for(49152, link.Mcs("bpsk", "1/2")) == 75
    assert link.payload_bytes_for(49152, link.Mcs("bpsk", "1/2")) == 75 * 324 // 8
    assert link.payload_bytes_for(49152, link.Mcs("64qam", "5/6")) == 455 * 540 // 8
    assert link.payload_bytes_for(49152, link.Mcs("qpsk", "3/4")) == 151 * 486 // 8


@pytest.mark.parametrize("name", [m.name for m in link.MCS_TABLE if m.rate == "1/2"])
def test_noiseless_llr_signs_give_back_the_bits(name):
    mcs = link.Mcs.parse(name)
    bits = np.random.default_rng(0).integers(0, 2, 648).astype(np.uint8)
    symbols = mcs.modulate(bits)
    assert len(symbols) == 648 // mcs.bits_per_symbol
    assert float((symbols.abs() ** 2).mean()) == pytest.approx(1.0, rel=0.1)
    llr = mcs.llrs(symbols, 0.01)
    assert np.array_equal((llr < 0).numpy().astype(np.uint8), bits)


def test_bpsk_llr_is_four_times_the_real_part_over_n0():
    y = torch.tensor([0.5 + 3j, -0.2 - 1j], dtype=torch.complex64)
    np.testing.assert_allclose(link.Mcs("bpsk", "1/2").llrs(y, 0.5).numpy(), [4.0, -1.6],
                               rtol=1e-6)


def test_higher_code_rates_need_a_higher_snr():
    # QPSK with each rate over AWGN, 200 frames on a 0.5 dB grid: rate 1/2 decodes at the
    # lowest Es/N0, 5/6 needs the highest, and each threshold lies above Shannon's limit
    thresholds = []
    for rate in ("1/2", "2/3", "3/4", "5/6"):
        mcs = link.Mcs("qpsk", rate)
        curve = link_curves.threshold_search(mcs, 200, step=0.5)
        fers = [fer for _, fer, _ in curve["points"]]
        assert fers[-1] == 0.0 and fers[0] > 0.5            # from failing to clean
        assert curve["threshold_db"] > link_curves.shannon_limit_db(mcs.efficiency)
        thresholds.append(curve["threshold_db"])
    assert thresholds == sorted(thresholds) and len(set(thresholds)) == 4


def test_the_shipped_thresholds_cover_every_scheme_above_its_shannon_limit():
    thresholds = link_curves.load_thresholds()
    assert set(thresholds) == set(link.MCS_TABLE)
    for mcs, db in thresholds.items():
        assert db > link_curves.shannon_limit_db(mcs.efficiency)
    for modulation in link.MODULATIONS:  # within a modulation, higher rate: higher SNR
        ladder = [thresholds[link.Mcs(modulation, r)] for r in ("1/2", "2/3", "3/4", "5/6")]
        assert ladder == sorted(ladder)


def test_adaptive_link_takes_the_fastest_scheme_the_snr_reaches():
    table = {link.Mcs("bpsk", "1/2"): -1.0, link.Mcs("qpsk", "1/2"): 2.0,
             link.Mcs("16qam", "3/4"): 9.0, link.Mcs("64qam", "1/2"): 11.0}
    assert link_curves.adaptive_mcs(-3.0, table) is None
    assert link_curves.adaptive_mcs(1.9, table) == link.Mcs("bpsk", "1/2")
    assert link_curves.adaptive_mcs(12.0, table) == link.Mcs("16qam", "3/4")  # tie: lower threshold


def test_a_damaged_threshold_table_is_a_clear_error(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"schemes": {"qpsk-12": {}}}))
    with pytest.raises(ValueError, match="not a threshold table"):
        link_curves.load_thresholds(str(path))


def test_envelope_tries_fast_schemes_first_and_none_above_capacity():
    awgn = Realisation(10)
    tried = compare.link_candidates("bpg-ldpc-best", 10.0, awgn)
    capacity = np.log2(1 + 10.0)
    assert all(m.efficiency < capacity for m in tried)
    assert tried[0] == link.Mcs("16qam", "5/6") and tried[-1] == link.Mcs("bpsk", "1/2")
    assert [m.efficiency for m in tried] == sorted((m.efficiency for m in tried), reverse=True)
    assert tried.index(link.Mcs("16qam", "3/4")) < tried.index(link.PAPER_MCS)  # tie: 16-QAM
    faded = Realisation(10, "rayleigh")
    assert len(compare.link_candidates("bpg-ldpc-best", 10.0, faded)) == 16
    assert compare.link_candidates("bpg-ldpc", 10.0, awgn) == [link.PAPER_MCS]
    assert compare.link_candidates("bpg-ldpc-adaptive", -30.0, awgn) == []


def test_a_bitstream_arrives_on_a_slow_scheme_where_the_paper_scheme_fails():
    payload = np.random.default_rng(3).integers(0, 256, 60).astype(np.uint8).tobytes()
    symbols = 648 * 2
    channel = Realisation(symbols, seed=5)
    assert link.send_bitstream(payload, symbols, channel, 3.0, mcs=link.Mcs("qpsk", "1/2"))[0]
    assert not link.send_bitstream(payload, symbols, channel, 3.0)[0]
    with pytest.raises(ValueError, match="with BPSK rate 1/2"):
        link.send_bitstream(bytes(100), symbols, channel, 3.0, mcs=link.Mcs("bpsk", "1/2"))


def test_link_curves_command_writes_a_table_the_adaptive_link_reads(tmp_path, capsys):
    from semcom_codec import cli

    table, page = tmp_path / "t.json", tmp_path / "c.md"
    assert cli.main(["link-curves", "--schemes", "bpsk-12,qpsk-12", "--frames", "64",
                     "--step", "1", "--json", str(table), "--markdown", str(page)]) == 0
    thresholds = link_curves.load_thresholds(str(table))
    assert set(thresholds) == {link.Mcs("bpsk", "1/2"), link.Mcs("qpsk", "1/2")}
    assert thresholds[link.Mcs("bpsk", "1/2")] < thresholds[link.Mcs("qpsk", "1/2")]
    assert "QPSK rate 1/2" in capsys.readouterr().out
    text = page.read_text()
    assert "semcom link-curves --schemes bpsk-12,qpsk-12" in text and "| BPSK rate 1/2 |" in text
