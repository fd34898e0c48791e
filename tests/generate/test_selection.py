"""When steering chooses (`sda.generate.sampling.Selection.due`): every few columns counted from
the first one drawn, or counted back from a last column with none after it."""

from sda.generate.sampling import Selection


def chosen_after(selection: Selection, columns: int, first: int = 0) -> list[int]:
    """The columns after which `sample_window` would choose, drawing from column `first` on."""
    return [c for c in range(first, columns) if selection.due(c, first)]


def test_choices_count_from_the_first_column_drawn():
    every_five = Selection(5, choose=lambda grid: None)
    assert chosen_after(every_five, 22) == [4, 9, 14, 19]
    assert chosen_after(every_five, 22, first=3) == [7, 12, 17]  # a prompt's columns not counted


def test_choices_fall_back_from_the_last_and_never_after_it():
    ending = Selection(5, choose=lambda grid: None, last=17)
    assert chosen_after(ending, 30) == [2, 7, 12, 17]
    assert chosen_after(ending, 30, first=5) == [7, 12, 17]
