"""fargate.py against the size table in docs/pricing.md, written out here by hand."""

import pytest

from ecs_optimizer.core.fargate import FARGATE_SIZES, all_pairs, check_size, is_valid, valid_memories

# Copied from docs/pricing.md "Valid Fargate task sizes (Linux)", expanded by hand, not computed.
EXPECTED = {
    256: [512, 1024, 2048],
    512: [1024, 2048, 3072, 4096],
    1024: [2048, 3072, 4096, 5120, 6144, 7168, 8192],
    2048: [4096, 5120, 6144, 7168, 8192, 9216, 10240, 11264, 12288, 13312, 14336, 15360, 16384],
    4096: [
        8192,
        9216,
        10240,
        11264,
        12288,
        13312,
        14336,
        15360,
        16384,
        17408,
        18432,
        19456,
        20480,
        21504,
        22528,
        23552,
        24576,
        25600,
        26624,
        27648,
        28672,
        29696,
        30720,
    ],
    8192: [16384, 20480, 24576, 28672, 32768, 36864, 40960, 45056, 49152, 53248, 57344, 61440],
    16384: [32768, 40960, 49152, 57344, 65536, 73728, 81920, 90112, 98304, 106496, 114688, 122880],
}


def test_table_matches_pricing_md_exactly():
    assert FARGATE_SIZES == EXPECTED


def test_every_documented_pair_is_valid_and_nothing_else():
    expected_pairs = [(cpu, mem) for cpu, mems in EXPECTED.items() for mem in mems]
    assert all_pairs() == expected_pairs
    assert len(expected_pairs) == 74
    for cpu, mem in expected_pairs:
        assert is_valid(cpu, mem)
        check_size(cpu, mem)


@pytest.mark.parametrize(
    "cpu,memory",
    [
        (256, 4096),
        (512, 512),
        (1024, 1024),
        (2048, 17408),
        (4096, 31744),
        (8192, 18432),
        (16384, 126976),
        (128, 512),
        (3072, 6144),
    ],
)
def test_invalid_pairs_are_rejected(cpu, memory):
    assert not is_valid(cpu, memory)
    with pytest.raises(ValueError):
        check_size(cpu, memory)


def test_error_lists_the_valid_memories_for_the_cpu():
    with pytest.raises(ValueError) as err:
        check_size(512, 512, where="frontend")
    message = str(err.value)
    assert "frontend" in message and "512" in message
    assert "1024, 2048, 3072, 4096" in message


def test_unknown_cpu_names_the_allowed_cpus():
    with pytest.raises(ValueError, match="256, 512, 1024, 2048, 4096, 8192, 16384"):
        check_size(3000, 6144)
    assert valid_memories(3000) == []
