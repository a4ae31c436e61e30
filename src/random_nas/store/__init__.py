"""The store of trainings, one package that imports neither torch nor pandas: its layout and
keys (`layout`), what its files hold and how they are checked (`records`), the life of an
entry (`entry`: claim, publish, retire, remove) and its administration (`admin`: `random-nas
store list | check | clean | retire | remove`). The workflow reads `layout` when it is parsed.
"""
