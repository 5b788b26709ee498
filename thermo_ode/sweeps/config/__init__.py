"""A sweep's config, from YAML text to a checked `LoadedConfig`; nothing here runs a sweep.

schema          the config's keys and their values (pydantic); `Config.values(key)` is the
                one lookup of "the swept values, else the fixed one"
sweep_axes      the spellings of a swept axis (a list, linspace, logspace, range)
loaded_config   `LoadedConfig`: a validated config with where it came from and its digest
loading         YAML -> a validated config, every problem located (load, parse)
yaml_text       the checks on the YAML text itself (shape, keys, aliases)
located         problems as FILE:LINE:COL in the config's own words (`ConfigError`)
checks          the rules that involve several keys, by topic
grid_checks     the rules on the sweep's axes, sizes and memory
precision_checks  what each point's numbers must hold at the chosen precision
energy_files    fixed energies from a file or a list in the config
path_checks     what is wrong with a path given (an input file, an output folder), from stat
limits          the sizes of a sweep and the ceilings on them
machine         whether a run fits this machine's memory and the output's disk
reference       the config reference page, rendered from the schema
"""
