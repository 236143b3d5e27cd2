"""The parameters page: how a node's declarations are written, and what a check reports."""

from dataclasses import replace

from hilserl.ros.parameter_page import (differences, format_value, NodeParameters,
                                        ParameterInfo, render, split_sections)

DOUBLE, STRING, STRING_ARRAY, DOUBLE_ARRAY, BOOL = 3, 4, 9, 8, 1


def _nodes():
    monitor = NodeParameters(
        package='hilserl', executable='image_monitor', node_name='/image_monitor',
        parameters=(
            ParameterInfo('camera_names', STRING_ARRAY, ['front'], 'Cameras to watch.', True),
            ParameterInfo('report_period_s', DOUBLE, 1.0, 'Seconds between summaries.', True),
            ParameterInfo('exit_after_s', DOUBLE, 0.0, 'Exit after this long\n    (0: never).',
                          True),
            ParameterInfo('front.crop', DOUBLE_ARRAY, None,
                          'Crop of <camera> | unset: the whole *frame*.', False)))
    learner = NodeParameters(
        package='hilserl', executable='learner', node_name='/learner',
        parameters=(ParameterInfo('run_dir', STRING, '', 'Directory of the run.', True),
                    ParameterInfo('learn', BOOL, True, 'Train.', True)),
        started_with=('`run_dir` set to a new directory',))
    return [monitor, learner]


def test_values_are_written_as_in_a_parameter_file():
    assert format_value(True) == 'true'
    assert format_value(0.5) == '0.5'
    assert format_value(200_000) == '200000'
    assert format_value('') == "''"
    assert format_value("it's") == "'it''s'"
    assert format_value(['front', 'wrist']) == "['front', 'wrist']"
    assert format_value([0.15, -0.15]) == '[0.15, -0.15]'
    assert format_value(None) == 'unset'


def test_the_page_has_a_section_and_a_row_per_parameter():
    page = render(_nodes())
    preamble, sections = split_sections(page)
    assert 'hilserl docs parameters' in preamble
    assert '[image_monitor](#image_monitor) · [learner](#learner)' in preamble
    assert list(sections) == ['image_monitor', 'learner']
    monitor = sections['image_monitor']
    assert 'Package `hilserl`, node `/image_monitor`.' in monitor
    assert "| `camera_names` | string array | `['front']` | Cameras to watch. | yes |" in monitor
    # Markdown would eat the tag, split the row at the pipe and emphasise the word.
    assert ('| `front.crop` | double array | *unset* | Crop of &lt;camera> \\| unset: the '
            'whole \\*frame\\*. | no |') in monitor
    assert 'read with `run_dir` set to a new directory.' in sections['learner']
    # A description over several lines (a docstring) stays in its row.
    assert ('| `exit_after_s` | double | `0.0` | Exit after this long (0: never). | yes |'
            in monitor)


def test_a_page_equal_to_the_declarations_has_no_differences():
    nodes = _nodes()
    assert differences(render(nodes), nodes) == []


def test_a_changed_description_default_or_flag_is_named():
    nodes = _nodes()
    page = render(nodes)
    monitor = nodes[0]
    changed = replace(monitor, parameters=(
        monitor.parameters[0],
        replace(monitor.parameters[1], description='Seconds between two summaries.',
                default=2.0),
        monitor.parameters[2],
        replace(monitor.parameters[3], read_only=True)))
    found = differences(page, [changed, nodes[1]])
    assert found == [
        "image_monitor: parameter report_period_s: default is '`1.0`' in the page, "
        "'`2.0`' declared",
        "image_monitor: parameter report_period_s: description is 'Seconds between "
        "summaries.' in the page, 'Seconds between two summaries.' declared",
        "image_monitor: parameter front.crop: read-only is 'no' in the page, 'yes' declared"]


def test_added_and_removed_parameters_and_nodes_are_named():
    nodes = _nodes()
    page = render(nodes)
    learner = nodes[1]
    grown = replace(learner, parameters=learner.parameters[:1] + (
        ParameterInfo('seed', 2, 0, 'Seed.', True),))
    found = differences(page, [nodes[0], grown])
    assert 'learner: parameter seed is declared but not in the page' in found
    assert 'learner: parameter learn is in the page but not declared' in found
    assert differences(page, nodes[:1]) == [
        'learner: section in the page, but no such node executable']
    assert differences(render(nodes[:1]), nodes) == [
        'learner: node executable missing from the page']


def test_a_page_edited_by_hand_is_reported():
    nodes = _nodes()
    page = render(nodes)
    edited = page.replace('Package `hilserl`, node `/learner`', 'The learner, node `/learner`')
    found = differences(edited, nodes)
    assert any(line.startswith('learner: page line') and 'The learner' in line
               for line in found), found
    swapped = page.replace('| `learn` |', '| `learnt` |')
    assert differences(swapped, nodes) == [
        'learner: parameter learn is declared but not in the page',
        'learner: parameter learnt is in the page but not declared']
    reordered = render(nodes[::-1])
    assert differences(reordered, nodes)   # order matters too


def test_a_check_of_some_nodes_compares_only_their_sections():
    nodes = _nodes()
    page = render(nodes)
    edited = page.replace('Directory of the run.', 'Where the run goes.')
    assert differences(edited, nodes[:1], only=['image_monitor']) == []
    assert differences(edited, nodes[1:], only=['learner']) == [
        "learner: parameter run_dir: description is 'Where the run goes.' in the page, "
        "'Directory of the run.' declared"]
