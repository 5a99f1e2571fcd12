"""A robot that reacts to people (ROS-free): gestures, a target person, a follow command.

:mod:`.person` is the input (people of one frame), :mod:`.gestures` recognises gestures
with hysteresis, :mod:`.target` picks whom to follow, :mod:`.follow` turns that into a
velocity command under the safety rules, and :mod:`.reactor` ties them together per frame.
"""
