import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  backupLocations,
  buildHistory,
  checkQuotas,
  copy,
  describeMembers,
  describePacks,
  formatHistory,
  formatSeconds,
  prune,
  quotaTargets,
  resolveAlertSettings,
  resolveBackupConfig,
  shortTime
} from "./chunks/chunk-XLIB47H6.js";
import {
  rollback
} from "./chunks/chunk-XVP47H5J.js";
import {
  releaseOf
} from "./chunks/chunk-PZQOPBRM.js";
import {
  drill,
  resolveDrillConfig,
  verifyAcross
} from "./chunks/chunk-HNJCMWRL.js";
import {
  escapeHtml
} from "./chunks/chunk-HWUY422Q.js";
import {
  verify
} from "./chunks/chunk-S6YNOLOT.js";
import {
  resolveListConfig,
  resolveRestoreConfig,
  resolveRollbackConfig,
  resolveVerifyConfig,
  restore
} from "./chunks/chunk-J4ZO7BED.js";
import {
  CANCEL_EXIT_CODES,
  ConfigFileError,
  ConsoleReporter,
  DEFAULT_GROUP_BY,
  ExitCode,
  FORMAT_VERSION,
  LogTail,
  NotFoundError,
  RefusedError,
  S3Destination,
  StrongboxError,
  UsageError,
  VERSION,
  backup,
  backupOutcome,
  cancellation,
  cancellationLine,
  collectionFigures,
  copyOutcome,
  describeArtifact,
  describeBackup,
  describeSignature,
  drillOutcome,
  errorMessage,
  exitSoonIfCancelled,
  failedBackupOutcome,
  fingerprint,
  forcedExitUnderway,
  formatBytes,
  formatDuration,
  formatPrivateKey,
  formatPublicKey,
  generateIdentity,
  generateSigningKey,
  given,
  handleCancelSignals,
  initRepositories,
  listBackups,
  loadConfigFile,
  monitoringOff,
  openDestination,
  openLocations,
  parseDuration,
  parseGroupBy,
  pingFailedSetup,
  printable,
  pruneOutcome,
  quietAwsNodeVersionWarning,
  readSignatureStatus,
  recipientFingerprint,
  resolveInitConfig,
  resolveLock,
  resolveNotifyConfig,
  resolveRetentionPlan,
  restoreOutcome,
  rollbackOutcome,
  selectBackup,
  seriesKeyOf,
  seriesNames,
  signatureJson,
  sourceIdentity,
  startMonitor,
  syntaxOnlyEnv,
  verifyAcrossOutcome,
  verifyOutcome,
  warnNewerDamaged
} from "./chunks/chunk-XEBPFPTJ.js";
import {
  __commonJS,
  __require,
  __toESM
} from "./chunks/chunk-Y65T7N5T.js";

// node_modules/commander/lib/error.js
var require_error = __commonJS({
  "node_modules/commander/lib/error.js"(exports) {
    var CommanderError2 = class extends Error {
      /**
       * Constructs the CommanderError class
       * @param {number} exitCode suggested exit code which could be used with process.exit
       * @param {string} code an id string representing the error
       * @param {string} message human-readable description of the error
       */
      constructor(exitCode, code, message) {
        super(message);
        Error.captureStackTrace(this, this.constructor);
        this.name = this.constructor.name;
        this.code = code;
        this.exitCode = exitCode;
        this.nestedError = void 0;
      }
    };
    var InvalidArgumentError2 = class extends CommanderError2 {
      /**
       * Constructs the InvalidArgumentError class
       * @param {string} [message] explanation of why argument is invalid
       */
      constructor(message) {
        super(1, "commander.invalidArgument", message);
        Error.captureStackTrace(this, this.constructor);
        this.name = this.constructor.name;
      }
    };
    exports.CommanderError = CommanderError2;
    exports.InvalidArgumentError = InvalidArgumentError2;
  }
});

// node_modules/commander/lib/argument.js
var require_argument = __commonJS({
  "node_modules/commander/lib/argument.js"(exports) {
    var { InvalidArgumentError: InvalidArgumentError2 } = require_error();
    var Argument2 = class {
      /**
       * Initialize a new command argument with the given name and description.
       * The default is that the argument is required, and you can explicitly
       * indicate this with <> around the name. Put [] around the name for an optional argument.
       *
       * @param {string} name
       * @param {string} [description]
       */
      constructor(name, description) {
        this.description = description || "";
        this.variadic = false;
        this.parseArg = void 0;
        this.defaultValue = void 0;
        this.defaultValueDescription = void 0;
        this.argChoices = void 0;
        switch (name[0]) {
          case "<":
            this.required = true;
            this._name = name.slice(1, -1);
            break;
          case "[":
            this.required = false;
            this._name = name.slice(1, -1);
            break;
          default:
            this.required = true;
            this._name = name;
            break;
        }
        if (this._name.endsWith("...")) {
          this.variadic = true;
          this._name = this._name.slice(0, -3);
        }
      }
      /**
       * Return argument name.
       *
       * @return {string}
       */
      name() {
        return this._name;
      }
      /**
       * @package
       */
      _collectValue(value, previous) {
        if (previous === this.defaultValue || !Array.isArray(previous)) {
          return [value];
        }
        previous.push(value);
        return previous;
      }
      /**
       * Set the default value, and optionally supply the description to be displayed in the help.
       *
       * @param {*} value
       * @param {string} [description]
       * @return {Argument}
       */
      default(value, description) {
        this.defaultValue = value;
        this.defaultValueDescription = description;
        return this;
      }
      /**
       * Set the custom handler for processing CLI command arguments into argument values.
       *
       * @param {Function} [fn]
       * @return {Argument}
       */
      argParser(fn) {
        this.parseArg = fn;
        return this;
      }
      /**
       * Only allow argument value to be one of choices.
       *
       * @param {string[]} values
       * @return {Argument}
       */
      choices(values) {
        this.argChoices = values.slice();
        this.parseArg = (arg, previous) => {
          if (!this.argChoices.includes(arg)) {
            throw new InvalidArgumentError2(
              `Allowed choices are ${this.argChoices.join(", ")}.`
            );
          }
          if (this.variadic) {
            return this._collectValue(arg, previous);
          }
          return arg;
        };
        return this;
      }
      /**
       * Make argument required.
       *
       * @returns {Argument}
       */
      argRequired() {
        this.required = true;
        return this;
      }
      /**
       * Make argument optional.
       *
       * @returns {Argument}
       */
      argOptional() {
        this.required = false;
        return this;
      }
    };
    function humanReadableArgName(arg) {
      const nameOutput = arg.name() + (arg.variadic === true ? "..." : "");
      return arg.required ? "<" + nameOutput + ">" : "[" + nameOutput + "]";
    }
    exports.Argument = Argument2;
    exports.humanReadableArgName = humanReadableArgName;
  }
});

// node_modules/commander/lib/help.js
var require_help = __commonJS({
  "node_modules/commander/lib/help.js"(exports) {
    var { humanReadableArgName } = require_argument();
    var Help2 = class {
      constructor() {
        this.helpWidth = void 0;
        this.minWidthToWrap = 40;
        this.sortSubcommands = false;
        this.sortOptions = false;
        this.showGlobalOptions = false;
      }
      /**
       * prepareContext is called by Commander after applying overrides from `Command.configureHelp()`
       * and just before calling `formatHelp()`.
       *
       * Commander just uses the helpWidth and the rest is provided for optional use by more complex subclasses.
       *
       * @param {{ error?: boolean, helpWidth?: number, outputHasColors?: boolean }} contextOptions
       */
      prepareContext(contextOptions) {
        this.helpWidth = this.helpWidth ?? contextOptions.helpWidth ?? 80;
      }
      /**
       * Get an array of the visible subcommands. Includes a placeholder for the implicit help command, if there is one.
       *
       * @param {Command} cmd
       * @returns {Command[]}
       */
      visibleCommands(cmd) {
        const visibleCommands = cmd.commands.filter((cmd2) => !cmd2._hidden);
        const helpCommand = cmd._getHelpCommand();
        if (helpCommand && !helpCommand._hidden) {
          visibleCommands.push(helpCommand);
        }
        if (this.sortSubcommands) {
          visibleCommands.sort((a, b) => {
            return a.name().localeCompare(b.name());
          });
        }
        return visibleCommands;
      }
      /**
       * Compare options for sort.
       *
       * @param {Option} a
       * @param {Option} b
       * @returns {number}
       */
      compareOptions(a, b) {
        const getSortKey = (option) => {
          return option.short ? option.short.replace(/^-/, "") : option.long.replace(/^--/, "");
        };
        return getSortKey(a).localeCompare(getSortKey(b));
      }
      /**
       * Get an array of the visible options. Includes a placeholder for the implicit help option, if there is one.
       *
       * @param {Command} cmd
       * @returns {Option[]}
       */
      visibleOptions(cmd) {
        const visibleOptions = cmd.options.filter((option) => !option.hidden);
        const helpOption = cmd._getHelpOption();
        if (helpOption && !helpOption.hidden) {
          const removeShort = helpOption.short && cmd._findOption(helpOption.short);
          const removeLong = helpOption.long && cmd._findOption(helpOption.long);
          if (!removeShort && !removeLong) {
            visibleOptions.push(helpOption);
          } else if (helpOption.long && !removeLong) {
            visibleOptions.push(
              cmd.createOption(helpOption.long, helpOption.description)
            );
          } else if (helpOption.short && !removeShort) {
            visibleOptions.push(
              cmd.createOption(helpOption.short, helpOption.description)
            );
          }
        }
        if (this.sortOptions) {
          visibleOptions.sort(this.compareOptions);
        }
        return visibleOptions;
      }
      /**
       * Get an array of the visible global options. (Not including help.)
       *
       * @param {Command} cmd
       * @returns {Option[]}
       */
      visibleGlobalOptions(cmd) {
        if (!this.showGlobalOptions) return [];
        const globalOptions = [];
        for (let ancestorCmd = cmd.parent; ancestorCmd; ancestorCmd = ancestorCmd.parent) {
          const visibleOptions = ancestorCmd.options.filter(
            (option) => !option.hidden
          );
          globalOptions.push(...visibleOptions);
        }
        if (this.sortOptions) {
          globalOptions.sort(this.compareOptions);
        }
        return globalOptions;
      }
      /**
       * Get an array of the arguments if any have a description.
       *
       * @param {Command} cmd
       * @returns {Argument[]}
       */
      visibleArguments(cmd) {
        if (cmd._argsDescription) {
          cmd.registeredArguments.forEach((argument) => {
            argument.description = argument.description || cmd._argsDescription[argument.name()] || "";
          });
        }
        if (cmd.registeredArguments.find((argument) => argument.description)) {
          return cmd.registeredArguments;
        }
        return [];
      }
      /**
       * Get the command term to show in the list of subcommands.
       *
       * @param {Command} cmd
       * @returns {string}
       */
      subcommandTerm(cmd) {
        const args = cmd.registeredArguments.map((arg) => humanReadableArgName(arg)).join(" ");
        return cmd._name + (cmd._aliases[0] ? "|" + cmd._aliases[0] : "") + (cmd.options.length ? " [options]" : "") + // simplistic check for non-help option
        (args ? " " + args : "");
      }
      /**
       * Get the option term to show in the list of options.
       *
       * @param {Option} option
       * @returns {string}
       */
      optionTerm(option) {
        return option.flags;
      }
      /**
       * Get the argument term to show in the list of arguments.
       *
       * @param {Argument} argument
       * @returns {string}
       */
      argumentTerm(argument) {
        return argument.name();
      }
      /**
       * Get the longest command term length.
       *
       * @param {Command} cmd
       * @param {Help} helper
       * @returns {number}
       */
      longestSubcommandTermLength(cmd, helper) {
        return helper.visibleCommands(cmd).reduce((max, command) => {
          return Math.max(
            max,
            this.displayWidth(
              helper.styleSubcommandTerm(helper.subcommandTerm(command))
            )
          );
        }, 0);
      }
      /**
       * Get the longest option term length.
       *
       * @param {Command} cmd
       * @param {Help} helper
       * @returns {number}
       */
      longestOptionTermLength(cmd, helper) {
        return helper.visibleOptions(cmd).reduce((max, option) => {
          return Math.max(
            max,
            this.displayWidth(helper.styleOptionTerm(helper.optionTerm(option)))
          );
        }, 0);
      }
      /**
       * Get the longest global option term length.
       *
       * @param {Command} cmd
       * @param {Help} helper
       * @returns {number}
       */
      longestGlobalOptionTermLength(cmd, helper) {
        return helper.visibleGlobalOptions(cmd).reduce((max, option) => {
          return Math.max(
            max,
            this.displayWidth(helper.styleOptionTerm(helper.optionTerm(option)))
          );
        }, 0);
      }
      /**
       * Get the longest argument term length.
       *
       * @param {Command} cmd
       * @param {Help} helper
       * @returns {number}
       */
      longestArgumentTermLength(cmd, helper) {
        return helper.visibleArguments(cmd).reduce((max, argument) => {
          return Math.max(
            max,
            this.displayWidth(
              helper.styleArgumentTerm(helper.argumentTerm(argument))
            )
          );
        }, 0);
      }
      /**
       * Get the command usage to be displayed at the top of the built-in help.
       *
       * @param {Command} cmd
       * @returns {string}
       */
      commandUsage(cmd) {
        let cmdName = cmd._name;
        if (cmd._aliases[0]) {
          cmdName = cmdName + "|" + cmd._aliases[0];
        }
        let ancestorCmdNames = "";
        for (let ancestorCmd = cmd.parent; ancestorCmd; ancestorCmd = ancestorCmd.parent) {
          ancestorCmdNames = ancestorCmd.name() + " " + ancestorCmdNames;
        }
        return ancestorCmdNames + cmdName + " " + cmd.usage();
      }
      /**
       * Get the description for the command.
       *
       * @param {Command} cmd
       * @returns {string}
       */
      commandDescription(cmd) {
        return cmd.description();
      }
      /**
       * Get the subcommand summary to show in the list of subcommands.
       * (Fallback to description for backwards compatibility.)
       *
       * @param {Command} cmd
       * @returns {string}
       */
      subcommandDescription(cmd) {
        return cmd.summary() || cmd.description();
      }
      /**
       * Get the option description to show in the list of options.
       *
       * @param {Option} option
       * @return {string}
       */
      optionDescription(option) {
        const extraInfo = [];
        if (option.argChoices) {
          extraInfo.push(
            // use stringify to match the display of the default value
            `choices: ${option.argChoices.map((choice) => JSON.stringify(choice)).join(", ")}`
          );
        }
        if (option.defaultValue !== void 0) {
          const showDefault = option.required || option.optional || option.isBoolean() && typeof option.defaultValue === "boolean";
          if (showDefault) {
            extraInfo.push(
              `default: ${option.defaultValueDescription || JSON.stringify(option.defaultValue)}`
            );
          }
        }
        if (option.presetArg !== void 0 && option.optional) {
          extraInfo.push(`preset: ${JSON.stringify(option.presetArg)}`);
        }
        if (option.envVar !== void 0) {
          extraInfo.push(`env: ${option.envVar}`);
        }
        if (extraInfo.length > 0) {
          const extraDescription = `(${extraInfo.join(", ")})`;
          if (option.description) {
            return `${option.description} ${extraDescription}`;
          }
          return extraDescription;
        }
        return option.description;
      }
      /**
       * Get the argument description to show in the list of arguments.
       *
       * @param {Argument} argument
       * @return {string}
       */
      argumentDescription(argument) {
        const extraInfo = [];
        if (argument.argChoices) {
          extraInfo.push(
            // use stringify to match the display of the default value
            `choices: ${argument.argChoices.map((choice) => JSON.stringify(choice)).join(", ")}`
          );
        }
        if (argument.defaultValue !== void 0) {
          extraInfo.push(
            `default: ${argument.defaultValueDescription || JSON.stringify(argument.defaultValue)}`
          );
        }
        if (extraInfo.length > 0) {
          const extraDescription = `(${extraInfo.join(", ")})`;
          if (argument.description) {
            return `${argument.description} ${extraDescription}`;
          }
          return extraDescription;
        }
        return argument.description;
      }
      /**
       * Format a list of items, given a heading and an array of formatted items.
       *
       * @param {string} heading
       * @param {string[]} items
       * @param {Help} helper
       * @returns string[]
       */
      formatItemList(heading, items, helper) {
        if (items.length === 0) return [];
        return [helper.styleTitle(heading), ...items, ""];
      }
      /**
       * Group items by their help group heading.
       *
       * @param {Command[] | Option[]} unsortedItems
       * @param {Command[] | Option[]} visibleItems
       * @param {Function} getGroup
       * @returns {Map<string, Command[] | Option[]>}
       */
      groupItems(unsortedItems, visibleItems, getGroup) {
        const result = /* @__PURE__ */ new Map();
        unsortedItems.forEach((item) => {
          const group = getGroup(item);
          if (!result.has(group)) result.set(group, []);
        });
        visibleItems.forEach((item) => {
          const group = getGroup(item);
          if (!result.has(group)) {
            result.set(group, []);
          }
          result.get(group).push(item);
        });
        return result;
      }
      /**
       * Generate the built-in help text.
       *
       * @param {Command} cmd
       * @param {Help} helper
       * @returns {string}
       */
      formatHelp(cmd, helper) {
        const termWidth = helper.padWidth(cmd, helper);
        const helpWidth = helper.helpWidth ?? 80;
        function callFormatItem(term, description) {
          return helper.formatItem(term, termWidth, description, helper);
        }
        let output = [
          `${helper.styleTitle("Usage:")} ${helper.styleUsage(helper.commandUsage(cmd))}`,
          ""
        ];
        const commandDescription = helper.commandDescription(cmd);
        if (commandDescription.length > 0) {
          output = output.concat([
            helper.boxWrap(
              helper.styleCommandDescription(commandDescription),
              helpWidth
            ),
            ""
          ]);
        }
        const argumentList = helper.visibleArguments(cmd).map((argument) => {
          return callFormatItem(
            helper.styleArgumentTerm(helper.argumentTerm(argument)),
            helper.styleArgumentDescription(helper.argumentDescription(argument))
          );
        });
        output = output.concat(
          this.formatItemList("Arguments:", argumentList, helper)
        );
        const optionGroups = this.groupItems(
          cmd.options,
          helper.visibleOptions(cmd),
          (option) => option.helpGroupHeading ?? "Options:"
        );
        optionGroups.forEach((options, group) => {
          const optionList = options.map((option) => {
            return callFormatItem(
              helper.styleOptionTerm(helper.optionTerm(option)),
              helper.styleOptionDescription(helper.optionDescription(option))
            );
          });
          output = output.concat(this.formatItemList(group, optionList, helper));
        });
        if (helper.showGlobalOptions) {
          const globalOptionList = helper.visibleGlobalOptions(cmd).map((option) => {
            return callFormatItem(
              helper.styleOptionTerm(helper.optionTerm(option)),
              helper.styleOptionDescription(helper.optionDescription(option))
            );
          });
          output = output.concat(
            this.formatItemList("Global Options:", globalOptionList, helper)
          );
        }
        const commandGroups = this.groupItems(
          cmd.commands,
          helper.visibleCommands(cmd),
          (sub) => sub.helpGroup() || "Commands:"
        );
        commandGroups.forEach((commands, group) => {
          const commandList = commands.map((sub) => {
            return callFormatItem(
              helper.styleSubcommandTerm(helper.subcommandTerm(sub)),
              helper.styleSubcommandDescription(helper.subcommandDescription(sub))
            );
          });
          output = output.concat(this.formatItemList(group, commandList, helper));
        });
        return output.join("\n");
      }
      /**
       * Return display width of string, ignoring ANSI escape sequences. Used in padding and wrapping calculations.
       *
       * @param {string} str
       * @returns {number}
       */
      displayWidth(str) {
        return stripColor(str).length;
      }
      /**
       * Style the title for displaying in the help. Called with 'Usage:', 'Options:', etc.
       *
       * @param {string} str
       * @returns {string}
       */
      styleTitle(str) {
        return str;
      }
      styleUsage(str) {
        return str.split(" ").map((word) => {
          if (word === "[options]") return this.styleOptionText(word);
          if (word === "[command]") return this.styleSubcommandText(word);
          if (word[0] === "[" || word[0] === "<")
            return this.styleArgumentText(word);
          return this.styleCommandText(word);
        }).join(" ");
      }
      styleCommandDescription(str) {
        return this.styleDescriptionText(str);
      }
      styleOptionDescription(str) {
        return this.styleDescriptionText(str);
      }
      styleSubcommandDescription(str) {
        return this.styleDescriptionText(str);
      }
      styleArgumentDescription(str) {
        return this.styleDescriptionText(str);
      }
      styleDescriptionText(str) {
        return str;
      }
      styleOptionTerm(str) {
        return this.styleOptionText(str);
      }
      styleSubcommandTerm(str) {
        return str.split(" ").map((word) => {
          if (word === "[options]") return this.styleOptionText(word);
          if (word[0] === "[" || word[0] === "<")
            return this.styleArgumentText(word);
          return this.styleSubcommandText(word);
        }).join(" ");
      }
      styleArgumentTerm(str) {
        return this.styleArgumentText(str);
      }
      styleOptionText(str) {
        return str;
      }
      styleArgumentText(str) {
        return str;
      }
      styleSubcommandText(str) {
        return str;
      }
      styleCommandText(str) {
        return str;
      }
      /**
       * Calculate the pad width from the maximum term length.
       *
       * @param {Command} cmd
       * @param {Help} helper
       * @returns {number}
       */
      padWidth(cmd, helper) {
        return Math.max(
          helper.longestOptionTermLength(cmd, helper),
          helper.longestGlobalOptionTermLength(cmd, helper),
          helper.longestSubcommandTermLength(cmd, helper),
          helper.longestArgumentTermLength(cmd, helper)
        );
      }
      /**
       * Detect manually wrapped and indented strings by checking for line break followed by whitespace.
       *
       * @param {string} str
       * @returns {boolean}
       */
      preformatted(str) {
        return /\n[^\S\r\n]/.test(str);
      }
      /**
       * Format the "item", which consists of a term and description. Pad the term and wrap the description, indenting the following lines.
       *
       * So "TTT", 5, "DDD DDDD DD DDD" might be formatted for this.helpWidth=17 like so:
       *   TTT  DDD DDDD
       *        DD DDD
       *
       * @param {string} term
       * @param {number} termWidth
       * @param {string} description
       * @param {Help} helper
       * @returns {string}
       */
      formatItem(term, termWidth, description, helper) {
        const itemIndent = 2;
        const itemIndentStr = " ".repeat(itemIndent);
        if (!description) return itemIndentStr + term;
        const paddedTerm = term.padEnd(
          termWidth + term.length - helper.displayWidth(term)
        );
        const spacerWidth = 2;
        const helpWidth = this.helpWidth ?? 80;
        const remainingWidth = helpWidth - termWidth - spacerWidth - itemIndent;
        let formattedDescription;
        if (remainingWidth < this.minWidthToWrap || helper.preformatted(description)) {
          formattedDescription = description;
        } else {
          const wrappedDescription = helper.boxWrap(description, remainingWidth);
          formattedDescription = wrappedDescription.replace(
            /\n/g,
            "\n" + " ".repeat(termWidth + spacerWidth)
          );
        }
        return itemIndentStr + paddedTerm + " ".repeat(spacerWidth) + formattedDescription.replace(/\n/g, `
${itemIndentStr}`);
      }
      /**
       * Wrap a string at whitespace, preserving existing line breaks.
       * Wrapping is skipped if the width is less than `minWidthToWrap`.
       *
       * @param {string} str
       * @param {number} width
       * @returns {string}
       */
      boxWrap(str, width) {
        if (width < this.minWidthToWrap) return str;
        const rawLines = str.split(/\r\n|\n/);
        const chunkPattern = /[\s]*[^\s]+/g;
        const wrappedLines = [];
        rawLines.forEach((line) => {
          const chunks = line.match(chunkPattern);
          if (chunks === null) {
            wrappedLines.push("");
            return;
          }
          let sumChunks = [chunks.shift()];
          let sumWidth = this.displayWidth(sumChunks[0]);
          chunks.forEach((chunk) => {
            const visibleWidth = this.displayWidth(chunk);
            if (sumWidth + visibleWidth <= width) {
              sumChunks.push(chunk);
              sumWidth += visibleWidth;
              return;
            }
            wrappedLines.push(sumChunks.join(""));
            const nextChunk = chunk.trimStart();
            sumChunks = [nextChunk];
            sumWidth = this.displayWidth(nextChunk);
          });
          wrappedLines.push(sumChunks.join(""));
        });
        return wrappedLines.join("\n");
      }
    };
    function stripColor(str) {
      const sgrPattern = /\x1b\[\d*(;\d*)*m/g;
      return str.replace(sgrPattern, "");
    }
    exports.Help = Help2;
    exports.stripColor = stripColor;
  }
});

// node_modules/commander/lib/option.js
var require_option = __commonJS({
  "node_modules/commander/lib/option.js"(exports) {
    var { InvalidArgumentError: InvalidArgumentError2 } = require_error();
    var Option2 = class {
      /**
       * Initialize a new `Option` with the given `flags` and `description`.
       *
       * @param {string} flags
       * @param {string} [description]
       */
      constructor(flags, description) {
        this.flags = flags;
        this.description = description || "";
        this.required = flags.includes("<");
        this.optional = flags.includes("[");
        this.variadic = /\w\.\.\.[>\]]$/.test(flags);
        this.mandatory = false;
        const optionFlags = splitOptionFlags(flags);
        this.short = optionFlags.shortFlag;
        this.long = optionFlags.longFlag;
        this.negate = false;
        if (this.long) {
          this.negate = this.long.startsWith("--no-");
        }
        this.defaultValue = void 0;
        this.defaultValueDescription = void 0;
        this.presetArg = void 0;
        this.envVar = void 0;
        this.parseArg = void 0;
        this.hidden = false;
        this.argChoices = void 0;
        this.conflictsWith = [];
        this.implied = void 0;
        this.helpGroupHeading = void 0;
      }
      /**
       * Set the default value, and optionally supply the description to be displayed in the help.
       *
       * @param {*} value
       * @param {string} [description]
       * @return {Option}
       */
      default(value, description) {
        this.defaultValue = value;
        this.defaultValueDescription = description;
        return this;
      }
      /**
       * Preset to use when option used without option-argument, especially optional but also boolean and negated.
       * The custom processing (parseArg) is called.
       *
       * @example
       * new Option('--color').default('GREYSCALE').preset('RGB');
       * new Option('--donate [amount]').preset('20').argParser(parseFloat);
       *
       * @param {*} arg
       * @return {Option}
       */
      preset(arg) {
        this.presetArg = arg;
        return this;
      }
      /**
       * Add option name(s) that conflict with this option.
       * An error will be displayed if conflicting options are found during parsing.
       *
       * @example
       * new Option('--rgb').conflicts('cmyk');
       * new Option('--js').conflicts(['ts', 'jsx']);
       *
       * @param {(string | string[])} names
       * @return {Option}
       */
      conflicts(names) {
        this.conflictsWith = this.conflictsWith.concat(names);
        return this;
      }
      /**
       * Specify implied option values for when this option is set and the implied options are not.
       *
       * The custom processing (parseArg) is not called on the implied values.
       *
       * @example
       * program
       *   .addOption(new Option('--log', 'write logging information to file'))
       *   .addOption(new Option('--trace', 'log extra details').implies({ log: 'trace.txt' }));
       *
       * @param {object} impliedOptionValues
       * @return {Option}
       */
      implies(impliedOptionValues) {
        let newImplied = impliedOptionValues;
        if (typeof impliedOptionValues === "string") {
          newImplied = { [impliedOptionValues]: true };
        }
        this.implied = Object.assign(this.implied || {}, newImplied);
        return this;
      }
      /**
       * Set environment variable to check for option value.
       *
       * An environment variable is only used if when processed the current option value is
       * undefined, or the source of the current value is 'default' or 'config' or 'env'.
       *
       * @param {string} name
       * @return {Option}
       */
      env(name) {
        this.envVar = name;
        return this;
      }
      /**
       * Set the custom handler for processing CLI option arguments into option values.
       *
       * @param {Function} [fn]
       * @return {Option}
       */
      argParser(fn) {
        this.parseArg = fn;
        return this;
      }
      /**
       * Whether the option is mandatory and must have a value after parsing.
       *
       * @param {boolean} [mandatory=true]
       * @return {Option}
       */
      makeOptionMandatory(mandatory = true) {
        this.mandatory = !!mandatory;
        return this;
      }
      /**
       * Hide option in help.
       *
       * @param {boolean} [hide=true]
       * @return {Option}
       */
      hideHelp(hide = true) {
        this.hidden = !!hide;
        return this;
      }
      /**
       * @package
       */
      _collectValue(value, previous) {
        if (previous === this.defaultValue || !Array.isArray(previous)) {
          return [value];
        }
        previous.push(value);
        return previous;
      }
      /**
       * Only allow option value to be one of choices.
       *
       * @param {string[]} values
       * @return {Option}
       */
      choices(values) {
        this.argChoices = values.slice();
        this.parseArg = (arg, previous) => {
          if (!this.argChoices.includes(arg)) {
            throw new InvalidArgumentError2(
              `Allowed choices are ${this.argChoices.join(", ")}.`
            );
          }
          if (this.variadic) {
            return this._collectValue(arg, previous);
          }
          return arg;
        };
        return this;
      }
      /**
       * Return option name.
       *
       * @return {string}
       */
      name() {
        if (this.long) {
          return this.long.replace(/^--/, "");
        }
        return this.short.replace(/^-/, "");
      }
      /**
       * Return option name, in a camelcase format that can be used
       * as an object attribute key.
       *
       * @return {string}
       */
      attributeName() {
        if (this.negate) {
          return camelcase(this.name().replace(/^no-/, ""));
        }
        return camelcase(this.name());
      }
      /**
       * Set the help group heading.
       *
       * @param {string} heading
       * @return {Option}
       */
      helpGroup(heading) {
        this.helpGroupHeading = heading;
        return this;
      }
      /**
       * Check if `arg` matches the short or long flag.
       *
       * @param {string} arg
       * @return {boolean}
       * @package
       */
      is(arg) {
        return this.short === arg || this.long === arg;
      }
      /**
       * Return whether a boolean option.
       *
       * Options are one of boolean, negated, required argument, or optional argument.
       *
       * @return {boolean}
       * @package
       */
      isBoolean() {
        return !this.required && !this.optional && !this.negate;
      }
    };
    var DualOptions = class {
      /**
       * @param {Option[]} options
       */
      constructor(options) {
        this.positiveOptions = /* @__PURE__ */ new Map();
        this.negativeOptions = /* @__PURE__ */ new Map();
        this.dualOptions = /* @__PURE__ */ new Set();
        options.forEach((option) => {
          if (option.negate) {
            this.negativeOptions.set(option.attributeName(), option);
          } else {
            this.positiveOptions.set(option.attributeName(), option);
          }
        });
        this.negativeOptions.forEach((value, key) => {
          if (this.positiveOptions.has(key)) {
            this.dualOptions.add(key);
          }
        });
      }
      /**
       * Did the value come from the option, and not from possible matching dual option?
       *
       * @param {*} value
       * @param {Option} option
       * @returns {boolean}
       */
      valueFromOption(value, option) {
        const optionKey = option.attributeName();
        if (!this.dualOptions.has(optionKey)) return true;
        const preset = this.negativeOptions.get(optionKey).presetArg;
        const negativeValue = preset !== void 0 ? preset : false;
        return option.negate === (negativeValue === value);
      }
    };
    function camelcase(str) {
      return str.split("-").reduce((str2, word) => {
        return str2 + word[0].toUpperCase() + word.slice(1);
      });
    }
    function splitOptionFlags(flags) {
      let shortFlag;
      let longFlag;
      const shortFlagExp = /^-[^-]$/;
      const longFlagExp = /^--[^-]/;
      const flagParts = flags.split(/[ |,]+/).concat("guard");
      if (shortFlagExp.test(flagParts[0])) shortFlag = flagParts.shift();
      if (longFlagExp.test(flagParts[0])) longFlag = flagParts.shift();
      if (!shortFlag && shortFlagExp.test(flagParts[0]))
        shortFlag = flagParts.shift();
      if (!shortFlag && longFlagExp.test(flagParts[0])) {
        shortFlag = longFlag;
        longFlag = flagParts.shift();
      }
      if (flagParts[0].startsWith("-")) {
        const unsupportedFlag = flagParts[0];
        const baseError = `option creation failed due to '${unsupportedFlag}' in option flags '${flags}'`;
        if (/^-[^-][^-]/.test(unsupportedFlag))
          throw new Error(
            `${baseError}
- a short flag is a single dash and a single character
  - either use a single dash and a single character (for a short flag)
  - or use a double dash for a long option (and can have two, like '--ws, --workspace')`
          );
        if (shortFlagExp.test(unsupportedFlag))
          throw new Error(`${baseError}
- too many short flags`);
        if (longFlagExp.test(unsupportedFlag))
          throw new Error(`${baseError}
- too many long flags`);
        throw new Error(`${baseError}
- unrecognised flag format`);
      }
      if (shortFlag === void 0 && longFlag === void 0)
        throw new Error(
          `option creation failed due to no flags found in '${flags}'.`
        );
      return { shortFlag, longFlag };
    }
    exports.Option = Option2;
    exports.DualOptions = DualOptions;
  }
});

// node_modules/commander/lib/suggestSimilar.js
var require_suggestSimilar = __commonJS({
  "node_modules/commander/lib/suggestSimilar.js"(exports) {
    var maxDistance = 3;
    function editDistance(a, b) {
      if (Math.abs(a.length - b.length) > maxDistance)
        return Math.max(a.length, b.length);
      const d = [];
      for (let i = 0; i <= a.length; i++) {
        d[i] = [i];
      }
      for (let j = 0; j <= b.length; j++) {
        d[0][j] = j;
      }
      for (let j = 1; j <= b.length; j++) {
        for (let i = 1; i <= a.length; i++) {
          let cost = 1;
          if (a[i - 1] === b[j - 1]) {
            cost = 0;
          } else {
            cost = 1;
          }
          d[i][j] = Math.min(
            d[i - 1][j] + 1,
            // deletion
            d[i][j - 1] + 1,
            // insertion
            d[i - 1][j - 1] + cost
            // substitution
          );
          if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
            d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
          }
        }
      }
      return d[a.length][b.length];
    }
    function suggestSimilar(word, candidates) {
      if (!candidates || candidates.length === 0) return "";
      candidates = Array.from(new Set(candidates));
      const searchingOptions = word.startsWith("--");
      if (searchingOptions) {
        word = word.slice(2);
        candidates = candidates.map((candidate) => candidate.slice(2));
      }
      let similar = [];
      let bestDistance = maxDistance;
      const minSimilarity = 0.4;
      candidates.forEach((candidate) => {
        if (candidate.length <= 1) return;
        const distance = editDistance(word, candidate);
        const length = Math.max(word.length, candidate.length);
        const similarity = (length - distance) / length;
        if (similarity > minSimilarity) {
          if (distance < bestDistance) {
            bestDistance = distance;
            similar = [candidate];
          } else if (distance === bestDistance) {
            similar.push(candidate);
          }
        }
      });
      similar.sort((a, b) => a.localeCompare(b));
      if (searchingOptions) {
        similar = similar.map((candidate) => `--${candidate}`);
      }
      if (similar.length > 1) {
        return `
(Did you mean one of ${similar.join(", ")}?)`;
      }
      if (similar.length === 1) {
        return `
(Did you mean ${similar[0]}?)`;
      }
      return "";
    }
    exports.suggestSimilar = suggestSimilar;
  }
});

// node_modules/commander/lib/command.js
var require_command = __commonJS({
  "node_modules/commander/lib/command.js"(exports) {
    var EventEmitter = __require("node:events").EventEmitter;
    var childProcess = __require("node:child_process");
    var path = __require("node:path");
    var fs = __require("node:fs");
    var process2 = __require("node:process");
    var { Argument: Argument2, humanReadableArgName } = require_argument();
    var { CommanderError: CommanderError2 } = require_error();
    var { Help: Help2, stripColor } = require_help();
    var { Option: Option2, DualOptions } = require_option();
    var { suggestSimilar } = require_suggestSimilar();
    var Command4 = class _Command extends EventEmitter {
      /**
       * Initialize a new `Command`.
       *
       * @param {string} [name]
       */
      constructor(name) {
        super();
        this.commands = [];
        this.options = [];
        this.parent = null;
        this._allowUnknownOption = false;
        this._allowExcessArguments = false;
        this.registeredArguments = [];
        this._args = this.registeredArguments;
        this.args = [];
        this.rawArgs = [];
        this.processedArgs = [];
        this._scriptPath = null;
        this._name = name || "";
        this._optionValues = {};
        this._optionValueSources = {};
        this._storeOptionsAsProperties = false;
        this._actionHandler = null;
        this._executableHandler = false;
        this._executableFile = null;
        this._executableDir = null;
        this._defaultCommandName = null;
        this._exitCallback = null;
        this._aliases = [];
        this._combineFlagAndOptionalValue = true;
        this._description = "";
        this._summary = "";
        this._argsDescription = void 0;
        this._enablePositionalOptions = false;
        this._passThroughOptions = false;
        this._lifeCycleHooks = {};
        this._showHelpAfterError = false;
        this._showSuggestionAfterError = true;
        this._savedState = null;
        this._outputConfiguration = {
          writeOut: (str) => process2.stdout.write(str),
          writeErr: (str) => process2.stderr.write(str),
          outputError: (str, write) => write(str),
          getOutHelpWidth: () => process2.stdout.isTTY ? process2.stdout.columns : void 0,
          getErrHelpWidth: () => process2.stderr.isTTY ? process2.stderr.columns : void 0,
          getOutHasColors: () => useColor() ?? (process2.stdout.isTTY && process2.stdout.hasColors?.()),
          getErrHasColors: () => useColor() ?? (process2.stderr.isTTY && process2.stderr.hasColors?.()),
          stripColor: (str) => stripColor(str)
        };
        this._hidden = false;
        this._helpOption = void 0;
        this._addImplicitHelpCommand = void 0;
        this._helpCommand = void 0;
        this._helpConfiguration = {};
        this._helpGroupHeading = void 0;
        this._defaultCommandGroup = void 0;
        this._defaultOptionGroup = void 0;
      }
      /**
       * Copy settings that are useful to have in common across root command and subcommands.
       *
       * (Used internally when adding a command using `.command()` so subcommands inherit parent settings.)
       *
       * @param {Command} sourceCommand
       * @return {Command} `this` command for chaining
       */
      copyInheritedSettings(sourceCommand) {
        this._outputConfiguration = sourceCommand._outputConfiguration;
        this._helpOption = sourceCommand._helpOption;
        this._helpCommand = sourceCommand._helpCommand;
        this._helpConfiguration = sourceCommand._helpConfiguration;
        this._exitCallback = sourceCommand._exitCallback;
        this._storeOptionsAsProperties = sourceCommand._storeOptionsAsProperties;
        this._combineFlagAndOptionalValue = sourceCommand._combineFlagAndOptionalValue;
        this._allowExcessArguments = sourceCommand._allowExcessArguments;
        this._enablePositionalOptions = sourceCommand._enablePositionalOptions;
        this._showHelpAfterError = sourceCommand._showHelpAfterError;
        this._showSuggestionAfterError = sourceCommand._showSuggestionAfterError;
        return this;
      }
      /**
       * @returns {Command[]}
       * @private
       */
      _getCommandAndAncestors() {
        const result = [];
        for (let command = this; command; command = command.parent) {
          result.push(command);
        }
        return result;
      }
      /**
       * Define a command.
       *
       * There are two styles of command: pay attention to where to put the description.
       *
       * @example
       * // Command implemented using action handler (description is supplied separately to `.command`)
       * program
       *   .command('clone <source> [destination]')
       *   .description('clone a repository into a newly created directory')
       *   .action((source, destination) => {
       *     console.log('clone command called');
       *   });
       *
       * // Command implemented using separate executable file (description is second parameter to `.command`)
       * program
       *   .command('start <service>', 'start named service')
       *   .command('stop [service]', 'stop named service, or all if no name supplied');
       *
       * @param {string} nameAndArgs - command name and arguments, args are `<required>` or `[optional]` and last may also be `variadic...`
       * @param {(object | string)} [actionOptsOrExecDesc] - configuration options (for action), or description (for executable)
       * @param {object} [execOpts] - configuration options (for executable)
       * @return {Command} returns new command for action handler, or `this` for executable command
       */
      command(nameAndArgs, actionOptsOrExecDesc, execOpts) {
        let desc = actionOptsOrExecDesc;
        let opts = execOpts;
        if (typeof desc === "object" && desc !== null) {
          opts = desc;
          desc = null;
        }
        opts = opts || {};
        const [, name, args] = nameAndArgs.match(/([^ ]+) *(.*)/);
        const cmd = this.createCommand(name);
        if (desc) {
          cmd.description(desc);
          cmd._executableHandler = true;
        }
        if (opts.isDefault) this._defaultCommandName = cmd._name;
        cmd._hidden = !!(opts.noHelp || opts.hidden);
        cmd._executableFile = opts.executableFile || null;
        if (args) cmd.arguments(args);
        this._registerCommand(cmd);
        cmd.parent = this;
        cmd.copyInheritedSettings(this);
        if (desc) return this;
        return cmd;
      }
      /**
       * Factory routine to create a new unattached command.
       *
       * See .command() for creating an attached subcommand, which uses this routine to
       * create the command. You can override createCommand to customise subcommands.
       *
       * @param {string} [name]
       * @return {Command} new command
       */
      createCommand(name) {
        return new _Command(name);
      }
      /**
       * You can customise the help with a subclass of Help by overriding createHelp,
       * or by overriding Help properties using configureHelp().
       *
       * @return {Help}
       */
      createHelp() {
        return Object.assign(new Help2(), this.configureHelp());
      }
      /**
       * You can customise the help by overriding Help properties using configureHelp(),
       * or with a subclass of Help by overriding createHelp().
       *
       * @param {object} [configuration] - configuration options
       * @return {(Command | object)} `this` command for chaining, or stored configuration
       */
      configureHelp(configuration) {
        if (configuration === void 0) return this._helpConfiguration;
        this._helpConfiguration = configuration;
        return this;
      }
      /**
       * The default output goes to stdout and stderr. You can customise this for special
       * applications. You can also customise the display of errors by overriding outputError.
       *
       * The configuration properties are all functions:
       *
       *     // change how output being written, defaults to stdout and stderr
       *     writeOut(str)
       *     writeErr(str)
       *     // change how output being written for errors, defaults to writeErr
       *     outputError(str, write) // used for displaying errors and not used for displaying help
       *     // specify width for wrapping help
       *     getOutHelpWidth()
       *     getErrHelpWidth()
       *     // color support, currently only used with Help
       *     getOutHasColors()
       *     getErrHasColors()
       *     stripColor() // used to remove ANSI escape codes if output does not have colors
       *
       * @param {object} [configuration] - configuration options
       * @return {(Command | object)} `this` command for chaining, or stored configuration
       */
      configureOutput(configuration) {
        if (configuration === void 0) return this._outputConfiguration;
        this._outputConfiguration = {
          ...this._outputConfiguration,
          ...configuration
        };
        return this;
      }
      /**
       * Display the help or a custom message after an error occurs.
       *
       * @param {(boolean|string)} [displayHelp]
       * @return {Command} `this` command for chaining
       */
      showHelpAfterError(displayHelp = true) {
        if (typeof displayHelp !== "string") displayHelp = !!displayHelp;
        this._showHelpAfterError = displayHelp;
        return this;
      }
      /**
       * Display suggestion of similar commands for unknown commands, or options for unknown options.
       *
       * @param {boolean} [displaySuggestion]
       * @return {Command} `this` command for chaining
       */
      showSuggestionAfterError(displaySuggestion = true) {
        this._showSuggestionAfterError = !!displaySuggestion;
        return this;
      }
      /**
       * Add a prepared subcommand.
       *
       * See .command() for creating an attached subcommand which inherits settings from its parent.
       *
       * @param {Command} cmd - new subcommand
       * @param {object} [opts] - configuration options
       * @return {Command} `this` command for chaining
       */
      addCommand(cmd, opts) {
        if (!cmd._name) {
          throw new Error(`Command passed to .addCommand() must have a name
- specify the name in Command constructor or using .name()`);
        }
        opts = opts || {};
        if (opts.isDefault) this._defaultCommandName = cmd._name;
        if (opts.noHelp || opts.hidden) cmd._hidden = true;
        this._registerCommand(cmd);
        cmd.parent = this;
        cmd._checkForBrokenPassThrough();
        return this;
      }
      /**
       * Factory routine to create a new unattached argument.
       *
       * See .argument() for creating an attached argument, which uses this routine to
       * create the argument. You can override createArgument to return a custom argument.
       *
       * @param {string} name
       * @param {string} [description]
       * @return {Argument} new argument
       */
      createArgument(name, description) {
        return new Argument2(name, description);
      }
      /**
       * Define argument syntax for command.
       *
       * The default is that the argument is required, and you can explicitly
       * indicate this with <> around the name. Put [] around the name for an optional argument.
       *
       * @example
       * program.argument('<input-file>');
       * program.argument('[output-file]');
       *
       * @param {string} name
       * @param {string} [description]
       * @param {(Function|*)} [parseArg] - custom argument processing function or default value
       * @param {*} [defaultValue]
       * @return {Command} `this` command for chaining
       */
      argument(name, description, parseArg, defaultValue) {
        const argument = this.createArgument(name, description);
        if (typeof parseArg === "function") {
          argument.default(defaultValue).argParser(parseArg);
        } else {
          argument.default(parseArg);
        }
        this.addArgument(argument);
        return this;
      }
      /**
       * Define argument syntax for command, adding multiple at once (without descriptions).
       *
       * See also .argument().
       *
       * @example
       * program.arguments('<cmd> [env]');
       *
       * @param {string} names
       * @return {Command} `this` command for chaining
       */
      arguments(names) {
        names.trim().split(/ +/).forEach((detail) => {
          this.argument(detail);
        });
        return this;
      }
      /**
       * Define argument syntax for command, adding a prepared argument.
       *
       * @param {Argument} argument
       * @return {Command} `this` command for chaining
       */
      addArgument(argument) {
        const previousArgument = this.registeredArguments.slice(-1)[0];
        if (previousArgument?.variadic) {
          throw new Error(
            `only the last argument can be variadic '${previousArgument.name()}'`
          );
        }
        if (argument.required && argument.defaultValue !== void 0 && argument.parseArg === void 0) {
          throw new Error(
            `a default value for a required argument is never used: '${argument.name()}'`
          );
        }
        this.registeredArguments.push(argument);
        return this;
      }
      /**
       * Customise or override default help command. By default a help command is automatically added if your command has subcommands.
       *
       * @example
       *    program.helpCommand('help [cmd]');
       *    program.helpCommand('help [cmd]', 'show help');
       *    program.helpCommand(false); // suppress default help command
       *    program.helpCommand(true); // add help command even if no subcommands
       *
       * @param {string|boolean} enableOrNameAndArgs - enable with custom name and/or arguments, or boolean to override whether added
       * @param {string} [description] - custom description
       * @return {Command} `this` command for chaining
       */
      helpCommand(enableOrNameAndArgs, description) {
        if (typeof enableOrNameAndArgs === "boolean") {
          this._addImplicitHelpCommand = enableOrNameAndArgs;
          if (enableOrNameAndArgs && this._defaultCommandGroup) {
            this._initCommandGroup(this._getHelpCommand());
          }
          return this;
        }
        const nameAndArgs = enableOrNameAndArgs ?? "help [command]";
        const [, helpName, helpArgs] = nameAndArgs.match(/([^ ]+) *(.*)/);
        const helpDescription = description ?? "display help for command";
        const helpCommand = this.createCommand(helpName);
        helpCommand.helpOption(false);
        if (helpArgs) helpCommand.arguments(helpArgs);
        if (helpDescription) helpCommand.description(helpDescription);
        this._addImplicitHelpCommand = true;
        this._helpCommand = helpCommand;
        if (enableOrNameAndArgs || description) this._initCommandGroup(helpCommand);
        return this;
      }
      /**
       * Add prepared custom help command.
       *
       * @param {(Command|string|boolean)} helpCommand - custom help command, or deprecated enableOrNameAndArgs as for `.helpCommand()`
       * @param {string} [deprecatedDescription] - deprecated custom description used with custom name only
       * @return {Command} `this` command for chaining
       */
      addHelpCommand(helpCommand, deprecatedDescription) {
        if (typeof helpCommand !== "object") {
          this.helpCommand(helpCommand, deprecatedDescription);
          return this;
        }
        this._addImplicitHelpCommand = true;
        this._helpCommand = helpCommand;
        this._initCommandGroup(helpCommand);
        return this;
      }
      /**
       * Lazy create help command.
       *
       * @return {(Command|null)}
       * @package
       */
      _getHelpCommand() {
        const hasImplicitHelpCommand = this._addImplicitHelpCommand ?? (this.commands.length && !this._actionHandler && !this._findCommand("help"));
        if (hasImplicitHelpCommand) {
          if (this._helpCommand === void 0) {
            this.helpCommand(void 0, void 0);
          }
          return this._helpCommand;
        }
        return null;
      }
      /**
       * Add hook for life cycle event.
       *
       * @param {string} event
       * @param {Function} listener
       * @return {Command} `this` command for chaining
       */
      hook(event, listener) {
        const allowedValues = ["preSubcommand", "preAction", "postAction"];
        if (!allowedValues.includes(event)) {
          throw new Error(`Unexpected value for event passed to hook : '${event}'.
Expecting one of '${allowedValues.join("', '")}'`);
        }
        if (this._lifeCycleHooks[event]) {
          this._lifeCycleHooks[event].push(listener);
        } else {
          this._lifeCycleHooks[event] = [listener];
        }
        return this;
      }
      /**
       * Register callback to use as replacement for calling process.exit.
       *
       * @param {Function} [fn] optional callback which will be passed a CommanderError, defaults to throwing
       * @return {Command} `this` command for chaining
       */
      exitOverride(fn) {
        if (fn) {
          this._exitCallback = fn;
        } else {
          this._exitCallback = (err) => {
            if (err.code !== "commander.executeSubCommandAsync") {
              throw err;
            } else {
            }
          };
        }
        return this;
      }
      /**
       * Call process.exit, and _exitCallback if defined.
       *
       * @param {number} exitCode exit code for using with process.exit
       * @param {string} code an id string representing the error
       * @param {string} message human-readable description of the error
       * @return never
       * @private
       */
      _exit(exitCode, code, message) {
        if (this._exitCallback) {
          this._exitCallback(new CommanderError2(exitCode, code, message));
        }
        process2.exit(exitCode);
      }
      /**
       * Register callback `fn` for the command.
       *
       * @example
       * program
       *   .command('serve')
       *   .description('start service')
       *   .action(function() {
       *      // do work here
       *   });
       *
       * @param {Function} fn
       * @return {Command} `this` command for chaining
       */
      action(fn) {
        const listener = (args) => {
          const expectedArgsCount = this.registeredArguments.length;
          const actionArgs = args.slice(0, expectedArgsCount);
          if (this._storeOptionsAsProperties) {
            actionArgs[expectedArgsCount] = this;
          } else {
            actionArgs[expectedArgsCount] = this.opts();
          }
          actionArgs.push(this);
          return fn.apply(this, actionArgs);
        };
        this._actionHandler = listener;
        return this;
      }
      /**
       * Factory routine to create a new unattached option.
       *
       * See .option() for creating an attached option, which uses this routine to
       * create the option. You can override createOption to return a custom option.
       *
       * @param {string} flags
       * @param {string} [description]
       * @return {Option} new option
       */
      createOption(flags, description) {
        return new Option2(flags, description);
      }
      /**
       * Wrap parseArgs to catch 'commander.invalidArgument'.
       *
       * @param {(Option | Argument)} target
       * @param {string} value
       * @param {*} previous
       * @param {string} invalidArgumentMessage
       * @private
       */
      _callParseArg(target, value, previous, invalidArgumentMessage) {
        try {
          return target.parseArg(value, previous);
        } catch (err) {
          if (err.code === "commander.invalidArgument") {
            const message = `${invalidArgumentMessage} ${err.message}`;
            this.error(message, { exitCode: err.exitCode, code: err.code });
          }
          throw err;
        }
      }
      /**
       * Check for option flag conflicts.
       * Register option if no conflicts found, or throw on conflict.
       *
       * @param {Option} option
       * @private
       */
      _registerOption(option) {
        const matchingOption = option.short && this._findOption(option.short) || option.long && this._findOption(option.long);
        if (matchingOption) {
          const matchingFlag = option.long && this._findOption(option.long) ? option.long : option.short;
          throw new Error(`Cannot add option '${option.flags}'${this._name && ` to command '${this._name}'`} due to conflicting flag '${matchingFlag}'
-  already used by option '${matchingOption.flags}'`);
        }
        this._initOptionGroup(option);
        this.options.push(option);
      }
      /**
       * Check for command name and alias conflicts with existing commands.
       * Register command if no conflicts found, or throw on conflict.
       *
       * @param {Command} command
       * @private
       */
      _registerCommand(command) {
        const knownBy = (cmd) => {
          return [cmd.name()].concat(cmd.aliases());
        };
        const alreadyUsed = knownBy(command).find(
          (name) => this._findCommand(name)
        );
        if (alreadyUsed) {
          const existingCmd = knownBy(this._findCommand(alreadyUsed)).join("|");
          const newCmd = knownBy(command).join("|");
          throw new Error(
            `cannot add command '${newCmd}' as already have command '${existingCmd}'`
          );
        }
        this._initCommandGroup(command);
        this.commands.push(command);
      }
      /**
       * Add an option.
       *
       * @param {Option} option
       * @return {Command} `this` command for chaining
       */
      addOption(option) {
        this._registerOption(option);
        const oname = option.name();
        const name = option.attributeName();
        if (option.negate) {
          const positiveLongFlag = option.long.replace(/^--no-/, "--");
          if (!this._findOption(positiveLongFlag)) {
            this.setOptionValueWithSource(
              name,
              option.defaultValue === void 0 ? true : option.defaultValue,
              "default"
            );
          }
        } else if (option.defaultValue !== void 0) {
          this.setOptionValueWithSource(name, option.defaultValue, "default");
        }
        const handleOptionValue = (val, invalidValueMessage, valueSource) => {
          if (val == null && option.presetArg !== void 0) {
            val = option.presetArg;
          }
          const oldValue = this.getOptionValue(name);
          if (val !== null && option.parseArg) {
            val = this._callParseArg(option, val, oldValue, invalidValueMessage);
          } else if (val !== null && option.variadic) {
            val = option._collectValue(val, oldValue);
          }
          if (val == null) {
            if (option.negate) {
              val = false;
            } else if (option.isBoolean() || option.optional) {
              val = true;
            } else {
              val = "";
            }
          }
          this.setOptionValueWithSource(name, val, valueSource);
        };
        this.on("option:" + oname, (val) => {
          const invalidValueMessage = `error: option '${option.flags}' argument '${val}' is invalid.`;
          handleOptionValue(val, invalidValueMessage, "cli");
        });
        if (option.envVar) {
          this.on("optionEnv:" + oname, (val) => {
            const invalidValueMessage = `error: option '${option.flags}' value '${val}' from env '${option.envVar}' is invalid.`;
            handleOptionValue(val, invalidValueMessage, "env");
          });
        }
        return this;
      }
      /**
       * Internal implementation shared by .option() and .requiredOption()
       *
       * @return {Command} `this` command for chaining
       * @private
       */
      _optionEx(config, flags, description, fn, defaultValue) {
        if (typeof flags === "object" && flags instanceof Option2) {
          throw new Error(
            "To add an Option object use addOption() instead of option() or requiredOption()"
          );
        }
        const option = this.createOption(flags, description);
        option.makeOptionMandatory(!!config.mandatory);
        if (typeof fn === "function") {
          option.default(defaultValue).argParser(fn);
        } else if (fn instanceof RegExp) {
          const regex = fn;
          fn = (val, def) => {
            const m = regex.exec(val);
            return m ? m[0] : def;
          };
          option.default(defaultValue).argParser(fn);
        } else {
          option.default(fn);
        }
        return this.addOption(option);
      }
      /**
       * Define option with `flags`, `description`, and optional argument parsing function or `defaultValue` or both.
       *
       * The `flags` string contains the short and/or long flags, separated by comma, a pipe or space. A required
       * option-argument is indicated by `<>` and an optional option-argument by `[]`.
       *
       * See the README for more details, and see also addOption() and requiredOption().
       *
       * @example
       * program
       *     .option('-p, --pepper', 'add pepper')
       *     .option('--pt, --pizza-type <TYPE>', 'type of pizza') // required option-argument
       *     .option('-c, --cheese [CHEESE]', 'add extra cheese', 'mozzarella') // optional option-argument with default
       *     .option('-t, --tip <VALUE>', 'add tip to purchase cost', parseFloat) // custom parse function
       *
       * @param {string} flags
       * @param {string} [description]
       * @param {(Function|*)} [parseArg] - custom option processing function or default value
       * @param {*} [defaultValue]
       * @return {Command} `this` command for chaining
       */
      option(flags, description, parseArg, defaultValue) {
        return this._optionEx({}, flags, description, parseArg, defaultValue);
      }
      /**
       * Add a required option which must have a value after parsing. This usually means
       * the option must be specified on the command line. (Otherwise the same as .option().)
       *
       * The `flags` string contains the short and/or long flags, separated by comma, a pipe or space.
       *
       * @param {string} flags
       * @param {string} [description]
       * @param {(Function|*)} [parseArg] - custom option processing function or default value
       * @param {*} [defaultValue]
       * @return {Command} `this` command for chaining
       */
      requiredOption(flags, description, parseArg, defaultValue) {
        return this._optionEx(
          { mandatory: true },
          flags,
          description,
          parseArg,
          defaultValue
        );
      }
      /**
       * Alter parsing of short flags with optional values.
       *
       * @example
       * // for `.option('-f,--flag [value]'):
       * program.combineFlagAndOptionalValue(true);  // `-f80` is treated like `--flag=80`, this is the default behaviour
       * program.combineFlagAndOptionalValue(false) // `-fb` is treated like `-f -b`
       *
       * @param {boolean} [combine] - if `true` or omitted, an optional value can be specified directly after the flag.
       * @return {Command} `this` command for chaining
       */
      combineFlagAndOptionalValue(combine = true) {
        this._combineFlagAndOptionalValue = !!combine;
        return this;
      }
      /**
       * Allow unknown options on the command line.
       *
       * @param {boolean} [allowUnknown] - if `true` or omitted, no error will be thrown for unknown options.
       * @return {Command} `this` command for chaining
       */
      allowUnknownOption(allowUnknown = true) {
        this._allowUnknownOption = !!allowUnknown;
        return this;
      }
      /**
       * Allow excess command-arguments on the command line. Pass false to make excess arguments an error.
       *
       * @param {boolean} [allowExcess] - if `true` or omitted, no error will be thrown for excess arguments.
       * @return {Command} `this` command for chaining
       */
      allowExcessArguments(allowExcess = true) {
        this._allowExcessArguments = !!allowExcess;
        return this;
      }
      /**
       * Enable positional options. Positional means global options are specified before subcommands which lets
       * subcommands reuse the same option names, and also enables subcommands to turn on passThroughOptions.
       * The default behaviour is non-positional and global options may appear anywhere on the command line.
       *
       * @param {boolean} [positional]
       * @return {Command} `this` command for chaining
       */
      enablePositionalOptions(positional = true) {
        this._enablePositionalOptions = !!positional;
        return this;
      }
      /**
       * Pass through options that come after command-arguments rather than treat them as command-options,
       * so actual command-options come before command-arguments. Turning this on for a subcommand requires
       * positional options to have been enabled on the program (parent commands).
       * The default behaviour is non-positional and options may appear before or after command-arguments.
       *
       * @param {boolean} [passThrough] for unknown options.
       * @return {Command} `this` command for chaining
       */
      passThroughOptions(passThrough = true) {
        this._passThroughOptions = !!passThrough;
        this._checkForBrokenPassThrough();
        return this;
      }
      /**
       * @private
       */
      _checkForBrokenPassThrough() {
        if (this.parent && this._passThroughOptions && !this.parent._enablePositionalOptions) {
          throw new Error(
            `passThroughOptions cannot be used for '${this._name}' without turning on enablePositionalOptions for parent command(s)`
          );
        }
      }
      /**
       * Whether to store option values as properties on command object,
       * or store separately (specify false). In both cases the option values can be accessed using .opts().
       *
       * @param {boolean} [storeAsProperties=true]
       * @return {Command} `this` command for chaining
       */
      storeOptionsAsProperties(storeAsProperties = true) {
        if (this.options.length) {
          throw new Error("call .storeOptionsAsProperties() before adding options");
        }
        if (Object.keys(this._optionValues).length) {
          throw new Error(
            "call .storeOptionsAsProperties() before setting option values"
          );
        }
        this._storeOptionsAsProperties = !!storeAsProperties;
        return this;
      }
      /**
       * Retrieve option value.
       *
       * @param {string} key
       * @return {object} value
       */
      getOptionValue(key) {
        if (this._storeOptionsAsProperties) {
          return this[key];
        }
        return this._optionValues[key];
      }
      /**
       * Store option value.
       *
       * @param {string} key
       * @param {object} value
       * @return {Command} `this` command for chaining
       */
      setOptionValue(key, value) {
        return this.setOptionValueWithSource(key, value, void 0);
      }
      /**
       * Store option value and where the value came from.
       *
       * @param {string} key
       * @param {object} value
       * @param {string} source - expected values are default/config/env/cli/implied
       * @return {Command} `this` command for chaining
       */
      setOptionValueWithSource(key, value, source) {
        if (this._storeOptionsAsProperties) {
          this[key] = value;
        } else {
          this._optionValues[key] = value;
        }
        this._optionValueSources[key] = source;
        return this;
      }
      /**
       * Get source of option value.
       * Expected values are default | config | env | cli | implied
       *
       * @param {string} key
       * @return {string}
       */
      getOptionValueSource(key) {
        return this._optionValueSources[key];
      }
      /**
       * Get source of option value. See also .optsWithGlobals().
       * Expected values are default | config | env | cli | implied
       *
       * @param {string} key
       * @return {string}
       */
      getOptionValueSourceWithGlobals(key) {
        let source;
        this._getCommandAndAncestors().forEach((cmd) => {
          if (cmd.getOptionValueSource(key) !== void 0) {
            source = cmd.getOptionValueSource(key);
          }
        });
        return source;
      }
      /**
       * Get user arguments from implied or explicit arguments.
       * Side-effects: set _scriptPath if args included script. Used for default program name, and subcommand searches.
       *
       * @private
       */
      _prepareUserArgs(argv, parseOptions) {
        if (argv !== void 0 && !Array.isArray(argv)) {
          throw new Error("first parameter to parse must be array or undefined");
        }
        parseOptions = parseOptions || {};
        if (argv === void 0 && parseOptions.from === void 0) {
          if (process2.versions?.electron) {
            parseOptions.from = "electron";
          }
          const execArgv = process2.execArgv ?? [];
          if (execArgv.includes("-e") || execArgv.includes("--eval") || execArgv.includes("-p") || execArgv.includes("--print")) {
            parseOptions.from = "eval";
          }
        }
        if (argv === void 0) {
          argv = process2.argv;
        }
        this.rawArgs = argv.slice();
        let userArgs;
        switch (parseOptions.from) {
          case void 0:
          case "node":
            this._scriptPath = argv[1];
            userArgs = argv.slice(2);
            break;
          case "electron":
            if (process2.defaultApp) {
              this._scriptPath = argv[1];
              userArgs = argv.slice(2);
            } else {
              userArgs = argv.slice(1);
            }
            break;
          case "user":
            userArgs = argv.slice(0);
            break;
          case "eval":
            userArgs = argv.slice(1);
            break;
          default:
            throw new Error(
              `unexpected parse option { from: '${parseOptions.from}' }`
            );
        }
        if (!this._name && this._scriptPath)
          this.nameFromFilename(this._scriptPath);
        this._name = this._name || "program";
        return userArgs;
      }
      /**
       * Parse `argv`, setting options and invoking commands when defined.
       *
       * Use parseAsync instead of parse if any of your action handlers are async.
       *
       * Call with no parameters to parse `process.argv`. Detects Electron and special node options like `node --eval`. Easy mode!
       *
       * Or call with an array of strings to parse, and optionally where the user arguments start by specifying where the arguments are `from`:
       * - `'node'`: default, `argv[0]` is the application and `argv[1]` is the script being run, with user arguments after that
       * - `'electron'`: `argv[0]` is the application and `argv[1]` varies depending on whether the electron application is packaged
       * - `'user'`: just user arguments
       *
       * @example
       * program.parse(); // parse process.argv and auto-detect electron and special node flags
       * program.parse(process.argv); // assume argv[0] is app and argv[1] is script
       * program.parse(my-args, { from: 'user' }); // just user supplied arguments, nothing special about argv[0]
       *
       * @param {string[]} [argv] - optional, defaults to process.argv
       * @param {object} [parseOptions] - optionally specify style of options with from: node/user/electron
       * @param {string} [parseOptions.from] - where the args are from: 'node', 'user', 'electron'
       * @return {Command} `this` command for chaining
       */
      parse(argv, parseOptions) {
        this._prepareForParse();
        const userArgs = this._prepareUserArgs(argv, parseOptions);
        this._parseCommand([], userArgs);
        return this;
      }
      /**
       * Parse `argv`, setting options and invoking commands when defined.
       *
       * Call with no parameters to parse `process.argv`. Detects Electron and special node options like `node --eval`. Easy mode!
       *
       * Or call with an array of strings to parse, and optionally where the user arguments start by specifying where the arguments are `from`:
       * - `'node'`: default, `argv[0]` is the application and `argv[1]` is the script being run, with user arguments after that
       * - `'electron'`: `argv[0]` is the application and `argv[1]` varies depending on whether the electron application is packaged
       * - `'user'`: just user arguments
       *
       * @example
       * await program.parseAsync(); // parse process.argv and auto-detect electron and special node flags
       * await program.parseAsync(process.argv); // assume argv[0] is app and argv[1] is script
       * await program.parseAsync(my-args, { from: 'user' }); // just user supplied arguments, nothing special about argv[0]
       *
       * @param {string[]} [argv]
       * @param {object} [parseOptions]
       * @param {string} parseOptions.from - where the args are from: 'node', 'user', 'electron'
       * @return {Promise}
       */
      async parseAsync(argv, parseOptions) {
        this._prepareForParse();
        const userArgs = this._prepareUserArgs(argv, parseOptions);
        await this._parseCommand([], userArgs);
        return this;
      }
      _prepareForParse() {
        if (this._savedState === null) {
          this.saveStateBeforeParse();
        } else {
          this.restoreStateBeforeParse();
        }
      }
      /**
       * Called the first time parse is called to save state and allow a restore before subsequent calls to parse.
       * Not usually called directly, but available for subclasses to save their custom state.
       *
       * This is called in a lazy way. Only commands used in parsing chain will have state saved.
       */
      saveStateBeforeParse() {
        this._savedState = {
          // name is stable if supplied by author, but may be unspecified for root command and deduced during parsing
          _name: this._name,
          // option values before parse have default values (including false for negated options)
          // shallow clones
          _optionValues: { ...this._optionValues },
          _optionValueSources: { ...this._optionValueSources }
        };
      }
      /**
       * Restore state before parse for calls after the first.
       * Not usually called directly, but available for subclasses to save their custom state.
       *
       * This is called in a lazy way. Only commands used in parsing chain will have state restored.
       */
      restoreStateBeforeParse() {
        if (this._storeOptionsAsProperties)
          throw new Error(`Can not call parse again when storeOptionsAsProperties is true.
- either make a new Command for each call to parse, or stop storing options as properties`);
        this._name = this._savedState._name;
        this._scriptPath = null;
        this.rawArgs = [];
        this._optionValues = { ...this._savedState._optionValues };
        this._optionValueSources = { ...this._savedState._optionValueSources };
        this.args = [];
        this.processedArgs = [];
      }
      /**
       * Throw if expected executable is missing. Add lots of help for author.
       *
       * @param {string} executableFile
       * @param {string} executableDir
       * @param {string} subcommandName
       */
      _checkForMissingExecutable(executableFile, executableDir, subcommandName) {
        if (fs.existsSync(executableFile)) return;
        const executableDirMessage = executableDir ? `searched for local subcommand relative to directory '${executableDir}'` : "no directory for search for local subcommand, use .executableDir() to supply a custom directory";
        const executableMissing = `'${executableFile}' does not exist
 - if '${subcommandName}' is not meant to be an executable command, remove description parameter from '.command()' and use '.description()' instead
 - if the default executable name is not suitable, use the executableFile option to supply a custom name or path
 - ${executableDirMessage}`;
        throw new Error(executableMissing);
      }
      /**
       * Execute a sub-command executable.
       *
       * @private
       */
      _executeSubCommand(subcommand, args) {
        args = args.slice();
        let launchWithNode = false;
        const sourceExt = [".js", ".ts", ".tsx", ".mjs", ".cjs"];
        function findFile(baseDir, baseName) {
          const localBin = path.resolve(baseDir, baseName);
          if (fs.existsSync(localBin)) return localBin;
          if (sourceExt.includes(path.extname(baseName))) return void 0;
          const foundExt = sourceExt.find(
            (ext) => fs.existsSync(`${localBin}${ext}`)
          );
          if (foundExt) return `${localBin}${foundExt}`;
          return void 0;
        }
        this._checkForMissingMandatoryOptions();
        this._checkForConflictingOptions();
        let executableFile = subcommand._executableFile || `${this._name}-${subcommand._name}`;
        let executableDir = this._executableDir || "";
        if (this._scriptPath) {
          let resolvedScriptPath;
          try {
            resolvedScriptPath = fs.realpathSync(this._scriptPath);
          } catch {
            resolvedScriptPath = this._scriptPath;
          }
          executableDir = path.resolve(
            path.dirname(resolvedScriptPath),
            executableDir
          );
        }
        if (executableDir) {
          let localFile = findFile(executableDir, executableFile);
          if (!localFile && !subcommand._executableFile && this._scriptPath) {
            const legacyName = path.basename(
              this._scriptPath,
              path.extname(this._scriptPath)
            );
            if (legacyName !== this._name) {
              localFile = findFile(
                executableDir,
                `${legacyName}-${subcommand._name}`
              );
            }
          }
          executableFile = localFile || executableFile;
        }
        launchWithNode = sourceExt.includes(path.extname(executableFile));
        let proc;
        if (process2.platform !== "win32") {
          if (launchWithNode) {
            args.unshift(executableFile);
            args = incrementNodeInspectorPort(process2.execArgv).concat(args);
            proc = childProcess.spawn(process2.argv[0], args, { stdio: "inherit" });
          } else {
            proc = childProcess.spawn(executableFile, args, { stdio: "inherit" });
          }
        } else {
          this._checkForMissingExecutable(
            executableFile,
            executableDir,
            subcommand._name
          );
          args.unshift(executableFile);
          args = incrementNodeInspectorPort(process2.execArgv).concat(args);
          proc = childProcess.spawn(process2.execPath, args, { stdio: "inherit" });
        }
        if (!proc.killed) {
          const signals = ["SIGUSR1", "SIGUSR2", "SIGTERM", "SIGINT", "SIGHUP"];
          signals.forEach((signal) => {
            process2.on(signal, () => {
              if (proc.killed === false && proc.exitCode === null) {
                proc.kill(signal);
              }
            });
          });
        }
        const exitCallback = this._exitCallback;
        proc.on("close", (code) => {
          code = code ?? 1;
          if (!exitCallback) {
            process2.exit(code);
          } else {
            exitCallback(
              new CommanderError2(
                code,
                "commander.executeSubCommandAsync",
                "(close)"
              )
            );
          }
        });
        proc.on("error", (err) => {
          if (err.code === "ENOENT") {
            this._checkForMissingExecutable(
              executableFile,
              executableDir,
              subcommand._name
            );
          } else if (err.code === "EACCES") {
            throw new Error(`'${executableFile}' not executable`);
          }
          if (!exitCallback) {
            process2.exit(1);
          } else {
            const wrappedError = new CommanderError2(
              1,
              "commander.executeSubCommandAsync",
              "(error)"
            );
            wrappedError.nestedError = err;
            exitCallback(wrappedError);
          }
        });
        this.runningCommand = proc;
      }
      /**
       * @private
       */
      _dispatchSubcommand(commandName, operands, unknown) {
        const subCommand = this._findCommand(commandName);
        if (!subCommand) this.help({ error: true });
        subCommand._prepareForParse();
        let promiseChain;
        promiseChain = this._chainOrCallSubCommandHook(
          promiseChain,
          subCommand,
          "preSubcommand"
        );
        promiseChain = this._chainOrCall(promiseChain, () => {
          if (subCommand._executableHandler) {
            this._executeSubCommand(subCommand, operands.concat(unknown));
          } else {
            return subCommand._parseCommand(operands, unknown);
          }
        });
        return promiseChain;
      }
      /**
       * Invoke help directly if possible, or dispatch if necessary.
       * e.g. help foo
       *
       * @private
       */
      _dispatchHelpCommand(subcommandName) {
        if (!subcommandName) {
          this.help();
        }
        const subCommand = this._findCommand(subcommandName);
        if (subCommand && !subCommand._executableHandler) {
          subCommand.help();
        }
        return this._dispatchSubcommand(
          subcommandName,
          [],
          [this._getHelpOption()?.long ?? this._getHelpOption()?.short ?? "--help"]
        );
      }
      /**
       * Check this.args against expected this.registeredArguments.
       *
       * @private
       */
      _checkNumberOfArguments() {
        this.registeredArguments.forEach((arg, i) => {
          if (arg.required && this.args[i] == null) {
            this.missingArgument(arg.name());
          }
        });
        if (this.registeredArguments.length > 0 && this.registeredArguments[this.registeredArguments.length - 1].variadic) {
          return;
        }
        if (this.args.length > this.registeredArguments.length) {
          this._excessArguments(this.args);
        }
      }
      /**
       * Process this.args using this.registeredArguments and save as this.processedArgs!
       *
       * @private
       */
      _processArguments() {
        const myParseArg = (argument, value, previous) => {
          let parsedValue = value;
          if (value !== null && argument.parseArg) {
            const invalidValueMessage = `error: command-argument value '${value}' is invalid for argument '${argument.name()}'.`;
            parsedValue = this._callParseArg(
              argument,
              value,
              previous,
              invalidValueMessage
            );
          }
          return parsedValue;
        };
        this._checkNumberOfArguments();
        const processedArgs = [];
        this.registeredArguments.forEach((declaredArg, index) => {
          let value = declaredArg.defaultValue;
          if (declaredArg.variadic) {
            if (index < this.args.length) {
              value = this.args.slice(index);
              if (declaredArg.parseArg) {
                value = value.reduce((processed, v) => {
                  return myParseArg(declaredArg, v, processed);
                }, declaredArg.defaultValue);
              }
            } else if (value === void 0) {
              value = [];
            }
          } else if (index < this.args.length) {
            value = this.args[index];
            if (declaredArg.parseArg) {
              value = myParseArg(declaredArg, value, declaredArg.defaultValue);
            }
          }
          processedArgs[index] = value;
        });
        this.processedArgs = processedArgs;
      }
      /**
       * Once we have a promise we chain, but call synchronously until then.
       *
       * @param {(Promise|undefined)} promise
       * @param {Function} fn
       * @return {(Promise|undefined)}
       * @private
       */
      _chainOrCall(promise, fn) {
        if (promise?.then && typeof promise.then === "function") {
          return promise.then(() => fn());
        }
        return fn();
      }
      /**
       *
       * @param {(Promise|undefined)} promise
       * @param {string} event
       * @return {(Promise|undefined)}
       * @private
       */
      _chainOrCallHooks(promise, event) {
        let result = promise;
        const hooks = [];
        this._getCommandAndAncestors().reverse().filter((cmd) => cmd._lifeCycleHooks[event] !== void 0).forEach((hookedCommand) => {
          hookedCommand._lifeCycleHooks[event].forEach((callback) => {
            hooks.push({ hookedCommand, callback });
          });
        });
        if (event === "postAction") {
          hooks.reverse();
        }
        hooks.forEach((hookDetail) => {
          result = this._chainOrCall(result, () => {
            return hookDetail.callback(hookDetail.hookedCommand, this);
          });
        });
        return result;
      }
      /**
       *
       * @param {(Promise|undefined)} promise
       * @param {Command} subCommand
       * @param {string} event
       * @return {(Promise|undefined)}
       * @private
       */
      _chainOrCallSubCommandHook(promise, subCommand, event) {
        let result = promise;
        if (this._lifeCycleHooks[event] !== void 0) {
          this._lifeCycleHooks[event].forEach((hook) => {
            result = this._chainOrCall(result, () => {
              return hook(this, subCommand);
            });
          });
        }
        return result;
      }
      /**
       * Process arguments in context of this command.
       * Returns action result, in case it is a promise.
       *
       * @private
       */
      _parseCommand(operands, unknown) {
        const parsed = this.parseOptions(unknown);
        this._parseOptionsEnv();
        this._parseOptionsImplied();
        operands = operands.concat(parsed.operands);
        unknown = parsed.unknown;
        this.args = operands.concat(unknown);
        if (operands && this._findCommand(operands[0])) {
          return this._dispatchSubcommand(operands[0], operands.slice(1), unknown);
        }
        if (this._getHelpCommand() && operands[0] === this._getHelpCommand().name()) {
          return this._dispatchHelpCommand(operands[1]);
        }
        if (this._defaultCommandName) {
          this._outputHelpIfRequested(unknown);
          return this._dispatchSubcommand(
            this._defaultCommandName,
            operands,
            unknown
          );
        }
        if (this.commands.length && this.args.length === 0 && !this._actionHandler && !this._defaultCommandName) {
          this.help({ error: true });
        }
        this._outputHelpIfRequested(parsed.unknown);
        this._checkForMissingMandatoryOptions();
        this._checkForConflictingOptions();
        const checkForUnknownOptions = () => {
          if (parsed.unknown.length > 0) {
            this.unknownOption(parsed.unknown[0]);
          }
        };
        const commandEvent = `command:${this.name()}`;
        if (this._actionHandler) {
          checkForUnknownOptions();
          this._processArguments();
          let promiseChain;
          promiseChain = this._chainOrCallHooks(promiseChain, "preAction");
          promiseChain = this._chainOrCall(
            promiseChain,
            () => this._actionHandler(this.processedArgs)
          );
          if (this.parent) {
            promiseChain = this._chainOrCall(promiseChain, () => {
              this.parent.emit(commandEvent, operands, unknown);
            });
          }
          promiseChain = this._chainOrCallHooks(promiseChain, "postAction");
          return promiseChain;
        }
        if (this.parent?.listenerCount(commandEvent)) {
          checkForUnknownOptions();
          this._processArguments();
          this.parent.emit(commandEvent, operands, unknown);
        } else if (operands.length) {
          if (this._findCommand("*")) {
            return this._dispatchSubcommand("*", operands, unknown);
          }
          if (this.listenerCount("command:*")) {
            this.emit("command:*", operands, unknown);
          } else if (this.commands.length) {
            this.unknownCommand();
          } else {
            checkForUnknownOptions();
            this._processArguments();
          }
        } else if (this.commands.length) {
          checkForUnknownOptions();
          this.help({ error: true });
        } else {
          checkForUnknownOptions();
          this._processArguments();
        }
      }
      /**
       * Find matching command.
       *
       * @private
       * @return {Command | undefined}
       */
      _findCommand(name) {
        if (!name) return void 0;
        return this.commands.find(
          (cmd) => cmd._name === name || cmd._aliases.includes(name)
        );
      }
      /**
       * Return an option matching `arg` if any.
       *
       * @param {string} arg
       * @return {Option}
       * @package
       */
      _findOption(arg) {
        return this.options.find((option) => option.is(arg));
      }
      /**
       * Display an error message if a mandatory option does not have a value.
       * Called after checking for help flags in leaf subcommand.
       *
       * @private
       */
      _checkForMissingMandatoryOptions() {
        this._getCommandAndAncestors().forEach((cmd) => {
          cmd.options.forEach((anOption) => {
            if (anOption.mandatory && cmd.getOptionValue(anOption.attributeName()) === void 0) {
              cmd.missingMandatoryOptionValue(anOption);
            }
          });
        });
      }
      /**
       * Display an error message if conflicting options are used together in this.
       *
       * @private
       */
      _checkForConflictingLocalOptions() {
        const definedNonDefaultOptions = this.options.filter((option) => {
          const optionKey = option.attributeName();
          if (this.getOptionValue(optionKey) === void 0) {
            return false;
          }
          return this.getOptionValueSource(optionKey) !== "default";
        });
        const optionsWithConflicting = definedNonDefaultOptions.filter(
          (option) => option.conflictsWith.length > 0
        );
        optionsWithConflicting.forEach((option) => {
          const conflictingAndDefined = definedNonDefaultOptions.find(
            (defined) => option.conflictsWith.includes(defined.attributeName())
          );
          if (conflictingAndDefined) {
            this._conflictingOption(option, conflictingAndDefined);
          }
        });
      }
      /**
       * Display an error message if conflicting options are used together.
       * Called after checking for help flags in leaf subcommand.
       *
       * @private
       */
      _checkForConflictingOptions() {
        this._getCommandAndAncestors().forEach((cmd) => {
          cmd._checkForConflictingLocalOptions();
        });
      }
      /**
       * Parse options from `argv` removing known options,
       * and return argv split into operands and unknown arguments.
       *
       * Side effects: modifies command by storing options. Does not reset state if called again.
       *
       * Examples:
       *
       *     argv => operands, unknown
       *     --known kkk op => [op], []
       *     op --known kkk => [op], []
       *     sub --unknown uuu op => [sub], [--unknown uuu op]
       *     sub -- --unknown uuu op => [sub --unknown uuu op], []
       *
       * @param {string[]} args
       * @return {{operands: string[], unknown: string[]}}
       */
      parseOptions(args) {
        const operands = [];
        const unknown = [];
        let dest = operands;
        function maybeOption(arg) {
          return arg.length > 1 && arg[0] === "-";
        }
        const negativeNumberArg = (arg) => {
          if (!/^-(\d+|\d*\.\d+)(e[+-]?\d+)?$/.test(arg)) return false;
          return !this._getCommandAndAncestors().some(
            (cmd) => cmd.options.map((opt) => opt.short).some((short) => /^-\d$/.test(short))
          );
        };
        let activeVariadicOption = null;
        let activeGroup = null;
        let i = 0;
        while (i < args.length || activeGroup) {
          const arg = activeGroup ?? args[i++];
          activeGroup = null;
          if (arg === "--") {
            if (dest === unknown) dest.push(arg);
            dest.push(...args.slice(i));
            break;
          }
          if (activeVariadicOption && (!maybeOption(arg) || negativeNumberArg(arg))) {
            this.emit(`option:${activeVariadicOption.name()}`, arg);
            continue;
          }
          activeVariadicOption = null;
          if (maybeOption(arg)) {
            const option = this._findOption(arg);
            if (option) {
              if (option.required) {
                const value = args[i++];
                if (value === void 0) this.optionMissingArgument(option);
                this.emit(`option:${option.name()}`, value);
              } else if (option.optional) {
                let value = null;
                if (i < args.length && (!maybeOption(args[i]) || negativeNumberArg(args[i]))) {
                  value = args[i++];
                }
                this.emit(`option:${option.name()}`, value);
              } else {
                this.emit(`option:${option.name()}`);
              }
              activeVariadicOption = option.variadic ? option : null;
              continue;
            }
          }
          if (arg.length > 2 && arg[0] === "-" && arg[1] !== "-") {
            const option = this._findOption(`-${arg[1]}`);
            if (option) {
              if (option.required || option.optional && this._combineFlagAndOptionalValue) {
                this.emit(`option:${option.name()}`, arg.slice(2));
              } else {
                this.emit(`option:${option.name()}`);
                activeGroup = `-${arg.slice(2)}`;
              }
              continue;
            }
          }
          if (/^--[^=]+=/.test(arg)) {
            const index = arg.indexOf("=");
            const option = this._findOption(arg.slice(0, index));
            if (option && (option.required || option.optional)) {
              this.emit(`option:${option.name()}`, arg.slice(index + 1));
              continue;
            }
          }
          if (dest === operands && maybeOption(arg) && !(this.commands.length === 0 && negativeNumberArg(arg))) {
            dest = unknown;
          }
          if ((this._enablePositionalOptions || this._passThroughOptions) && operands.length === 0 && unknown.length === 0) {
            if (this._findCommand(arg)) {
              operands.push(arg);
              unknown.push(...args.slice(i));
              break;
            } else if (this._getHelpCommand() && arg === this._getHelpCommand().name()) {
              operands.push(arg, ...args.slice(i));
              break;
            } else if (this._defaultCommandName) {
              unknown.push(arg, ...args.slice(i));
              break;
            }
          }
          if (this._passThroughOptions) {
            dest.push(arg, ...args.slice(i));
            break;
          }
          dest.push(arg);
        }
        return { operands, unknown };
      }
      /**
       * Return an object containing local option values as key-value pairs.
       *
       * @return {object}
       */
      opts() {
        if (this._storeOptionsAsProperties) {
          const result = {};
          const len = this.options.length;
          for (let i = 0; i < len; i++) {
            const key = this.options[i].attributeName();
            result[key] = key === this._versionOptionName ? this._version : this[key];
          }
          return result;
        }
        return this._optionValues;
      }
      /**
       * Return an object containing merged local and global option values as key-value pairs.
       *
       * @return {object}
       */
      optsWithGlobals() {
        return this._getCommandAndAncestors().reduce(
          (combinedOptions, cmd) => Object.assign(combinedOptions, cmd.opts()),
          {}
        );
      }
      /**
       * Display error message and exit (or call exitOverride).
       *
       * @param {string} message
       * @param {object} [errorOptions]
       * @param {string} [errorOptions.code] - an id string representing the error
       * @param {number} [errorOptions.exitCode] - used with process.exit
       */
      error(message, errorOptions) {
        this._outputConfiguration.outputError(
          `${message}
`,
          this._outputConfiguration.writeErr
        );
        if (typeof this._showHelpAfterError === "string") {
          this._outputConfiguration.writeErr(`${this._showHelpAfterError}
`);
        } else if (this._showHelpAfterError) {
          this._outputConfiguration.writeErr("\n");
          this.outputHelp({ error: true });
        }
        const config = errorOptions || {};
        const exitCode = config.exitCode || 1;
        const code = config.code || "commander.error";
        this._exit(exitCode, code, message);
      }
      /**
       * Apply any option related environment variables, if option does
       * not have a value from cli or client code.
       *
       * @private
       */
      _parseOptionsEnv() {
        this.options.forEach((option) => {
          if (option.envVar && option.envVar in process2.env) {
            const optionKey = option.attributeName();
            if (this.getOptionValue(optionKey) === void 0 || ["default", "config", "env"].includes(
              this.getOptionValueSource(optionKey)
            )) {
              if (option.required || option.optional) {
                this.emit(`optionEnv:${option.name()}`, process2.env[option.envVar]);
              } else {
                this.emit(`optionEnv:${option.name()}`);
              }
            }
          }
        });
      }
      /**
       * Apply any implied option values, if option is undefined or default value.
       *
       * @private
       */
      _parseOptionsImplied() {
        const dualHelper = new DualOptions(this.options);
        const hasCustomOptionValue = (optionKey) => {
          return this.getOptionValue(optionKey) !== void 0 && !["default", "implied"].includes(this.getOptionValueSource(optionKey));
        };
        this.options.filter(
          (option) => option.implied !== void 0 && hasCustomOptionValue(option.attributeName()) && dualHelper.valueFromOption(
            this.getOptionValue(option.attributeName()),
            option
          )
        ).forEach((option) => {
          Object.keys(option.implied).filter((impliedKey) => !hasCustomOptionValue(impliedKey)).forEach((impliedKey) => {
            this.setOptionValueWithSource(
              impliedKey,
              option.implied[impliedKey],
              "implied"
            );
          });
        });
      }
      /**
       * Argument `name` is missing.
       *
       * @param {string} name
       * @private
       */
      missingArgument(name) {
        const message = `error: missing required argument '${name}'`;
        this.error(message, { code: "commander.missingArgument" });
      }
      /**
       * `Option` is missing an argument.
       *
       * @param {Option} option
       * @private
       */
      optionMissingArgument(option) {
        const message = `error: option '${option.flags}' argument missing`;
        this.error(message, { code: "commander.optionMissingArgument" });
      }
      /**
       * `Option` does not have a value, and is a mandatory option.
       *
       * @param {Option} option
       * @private
       */
      missingMandatoryOptionValue(option) {
        const message = `error: required option '${option.flags}' not specified`;
        this.error(message, { code: "commander.missingMandatoryOptionValue" });
      }
      /**
       * `Option` conflicts with another option.
       *
       * @param {Option} option
       * @param {Option} conflictingOption
       * @private
       */
      _conflictingOption(option, conflictingOption) {
        const findBestOptionFromValue = (option2) => {
          const optionKey = option2.attributeName();
          const optionValue = this.getOptionValue(optionKey);
          const negativeOption = this.options.find(
            (target) => target.negate && optionKey === target.attributeName()
          );
          const positiveOption = this.options.find(
            (target) => !target.negate && optionKey === target.attributeName()
          );
          if (negativeOption && (negativeOption.presetArg === void 0 && optionValue === false || negativeOption.presetArg !== void 0 && optionValue === negativeOption.presetArg)) {
            return negativeOption;
          }
          return positiveOption || option2;
        };
        const getErrorMessage = (option2) => {
          const bestOption = findBestOptionFromValue(option2);
          const optionKey = bestOption.attributeName();
          const source = this.getOptionValueSource(optionKey);
          if (source === "env") {
            return `environment variable '${bestOption.envVar}'`;
          }
          return `option '${bestOption.flags}'`;
        };
        const message = `error: ${getErrorMessage(option)} cannot be used with ${getErrorMessage(conflictingOption)}`;
        this.error(message, { code: "commander.conflictingOption" });
      }
      /**
       * Unknown option `flag`.
       *
       * @param {string} flag
       * @private
       */
      unknownOption(flag) {
        if (this._allowUnknownOption) return;
        let suggestion = "";
        if (flag.startsWith("--") && this._showSuggestionAfterError) {
          let candidateFlags = [];
          let command = this;
          do {
            const moreFlags = command.createHelp().visibleOptions(command).filter((option) => option.long).map((option) => option.long);
            candidateFlags = candidateFlags.concat(moreFlags);
            command = command.parent;
          } while (command && !command._enablePositionalOptions);
          suggestion = suggestSimilar(flag, candidateFlags);
        }
        const message = `error: unknown option '${flag}'${suggestion}`;
        this.error(message, { code: "commander.unknownOption" });
      }
      /**
       * Excess arguments, more than expected.
       *
       * @param {string[]} receivedArgs
       * @private
       */
      _excessArguments(receivedArgs) {
        if (this._allowExcessArguments) return;
        const expected = this.registeredArguments.length;
        const s = expected === 1 ? "" : "s";
        const forSubcommand = this.parent ? ` for '${this.name()}'` : "";
        const message = `error: too many arguments${forSubcommand}. Expected ${expected} argument${s} but got ${receivedArgs.length}.`;
        this.error(message, { code: "commander.excessArguments" });
      }
      /**
       * Unknown command.
       *
       * @private
       */
      unknownCommand() {
        const unknownName = this.args[0];
        let suggestion = "";
        if (this._showSuggestionAfterError) {
          const candidateNames = [];
          this.createHelp().visibleCommands(this).forEach((command) => {
            candidateNames.push(command.name());
            if (command.alias()) candidateNames.push(command.alias());
          });
          suggestion = suggestSimilar(unknownName, candidateNames);
        }
        const message = `error: unknown command '${unknownName}'${suggestion}`;
        this.error(message, { code: "commander.unknownCommand" });
      }
      /**
       * Get or set the program version.
       *
       * This method auto-registers the "-V, --version" option which will print the version number.
       *
       * You can optionally supply the flags and description to override the defaults.
       *
       * @param {string} [str]
       * @param {string} [flags]
       * @param {string} [description]
       * @return {(this | string | undefined)} `this` command for chaining, or version string if no arguments
       */
      version(str, flags, description) {
        if (str === void 0) return this._version;
        this._version = str;
        flags = flags || "-V, --version";
        description = description || "output the version number";
        const versionOption = this.createOption(flags, description);
        this._versionOptionName = versionOption.attributeName();
        this._registerOption(versionOption);
        this.on("option:" + versionOption.name(), () => {
          this._outputConfiguration.writeOut(`${str}
`);
          this._exit(0, "commander.version", str);
        });
        return this;
      }
      /**
       * Set the description.
       *
       * @param {string} [str]
       * @param {object} [argsDescription]
       * @return {(string|Command)}
       */
      description(str, argsDescription) {
        if (str === void 0 && argsDescription === void 0)
          return this._description;
        this._description = str;
        if (argsDescription) {
          this._argsDescription = argsDescription;
        }
        return this;
      }
      /**
       * Set the summary. Used when listed as subcommand of parent.
       *
       * @param {string} [str]
       * @return {(string|Command)}
       */
      summary(str) {
        if (str === void 0) return this._summary;
        this._summary = str;
        return this;
      }
      /**
       * Set an alias for the command.
       *
       * You may call more than once to add multiple aliases. Only the first alias is shown in the auto-generated help.
       *
       * @param {string} [alias]
       * @return {(string|Command)}
       */
      alias(alias) {
        if (alias === void 0) return this._aliases[0];
        let command = this;
        if (this.commands.length !== 0 && this.commands[this.commands.length - 1]._executableHandler) {
          command = this.commands[this.commands.length - 1];
        }
        if (alias === command._name)
          throw new Error("Command alias can't be the same as its name");
        const matchingCommand = this.parent?._findCommand(alias);
        if (matchingCommand) {
          const existingCmd = [matchingCommand.name()].concat(matchingCommand.aliases()).join("|");
          throw new Error(
            `cannot add alias '${alias}' to command '${this.name()}' as already have command '${existingCmd}'`
          );
        }
        command._aliases.push(alias);
        return this;
      }
      /**
       * Set aliases for the command.
       *
       * Only the first alias is shown in the auto-generated help.
       *
       * @param {string[]} [aliases]
       * @return {(string[]|Command)}
       */
      aliases(aliases) {
        if (aliases === void 0) return this._aliases;
        aliases.forEach((alias) => this.alias(alias));
        return this;
      }
      /**
       * Set / get the command usage `str`.
       *
       * @param {string} [str]
       * @return {(string|Command)}
       */
      usage(str) {
        if (str === void 0) {
          if (this._usage) return this._usage;
          const args = this.registeredArguments.map((arg) => {
            return humanReadableArgName(arg);
          });
          return [].concat(
            this.options.length || this._helpOption !== null ? "[options]" : [],
            this.commands.length ? "[command]" : [],
            this.registeredArguments.length ? args : []
          ).join(" ");
        }
        this._usage = str;
        return this;
      }
      /**
       * Get or set the name of the command.
       *
       * @param {string} [str]
       * @return {(string|Command)}
       */
      name(str) {
        if (str === void 0) return this._name;
        this._name = str;
        return this;
      }
      /**
       * Set/get the help group heading for this subcommand in parent command's help.
       *
       * @param {string} [heading]
       * @return {Command | string}
       */
      helpGroup(heading) {
        if (heading === void 0) return this._helpGroupHeading ?? "";
        this._helpGroupHeading = heading;
        return this;
      }
      /**
       * Set/get the default help group heading for subcommands added to this command.
       * (This does not override a group set directly on the subcommand using .helpGroup().)
       *
       * @example
       * program.commandsGroup('Development Commands:);
       * program.command('watch')...
       * program.command('lint')...
       * ...
       *
       * @param {string} [heading]
       * @returns {Command | string}
       */
      commandsGroup(heading) {
        if (heading === void 0) return this._defaultCommandGroup ?? "";
        this._defaultCommandGroup = heading;
        return this;
      }
      /**
       * Set/get the default help group heading for options added to this command.
       * (This does not override a group set directly on the option using .helpGroup().)
       *
       * @example
       * program
       *   .optionsGroup('Development Options:')
       *   .option('-d, --debug', 'output extra debugging')
       *   .option('-p, --profile', 'output profiling information')
       *
       * @param {string} [heading]
       * @returns {Command | string}
       */
      optionsGroup(heading) {
        if (heading === void 0) return this._defaultOptionGroup ?? "";
        this._defaultOptionGroup = heading;
        return this;
      }
      /**
       * @param {Option} option
       * @private
       */
      _initOptionGroup(option) {
        if (this._defaultOptionGroup && !option.helpGroupHeading)
          option.helpGroup(this._defaultOptionGroup);
      }
      /**
       * @param {Command} cmd
       * @private
       */
      _initCommandGroup(cmd) {
        if (this._defaultCommandGroup && !cmd.helpGroup())
          cmd.helpGroup(this._defaultCommandGroup);
      }
      /**
       * Set the name of the command from script filename, such as process.argv[1],
       * or require.main.filename, or __filename.
       *
       * (Used internally and public although not documented in README.)
       *
       * @example
       * program.nameFromFilename(require.main.filename);
       *
       * @param {string} filename
       * @return {Command}
       */
      nameFromFilename(filename) {
        this._name = path.basename(filename, path.extname(filename));
        return this;
      }
      /**
       * Get or set the directory for searching for executable subcommands of this command.
       *
       * @example
       * program.executableDir(__dirname);
       * // or
       * program.executableDir('subcommands');
       *
       * @param {string} [path]
       * @return {(string|null|Command)}
       */
      executableDir(path2) {
        if (path2 === void 0) return this._executableDir;
        this._executableDir = path2;
        return this;
      }
      /**
       * Return program help documentation.
       *
       * @param {{ error: boolean }} [contextOptions] - pass {error:true} to wrap for stderr instead of stdout
       * @return {string}
       */
      helpInformation(contextOptions) {
        const helper = this.createHelp();
        const context = this._getOutputContext(contextOptions);
        helper.prepareContext({
          error: context.error,
          helpWidth: context.helpWidth,
          outputHasColors: context.hasColors
        });
        const text = helper.formatHelp(this, helper);
        if (context.hasColors) return text;
        return this._outputConfiguration.stripColor(text);
      }
      /**
       * @typedef HelpContext
       * @type {object}
       * @property {boolean} error
       * @property {number} helpWidth
       * @property {boolean} hasColors
       * @property {function} write - includes stripColor if needed
       *
       * @returns {HelpContext}
       * @private
       */
      _getOutputContext(contextOptions) {
        contextOptions = contextOptions || {};
        const error = !!contextOptions.error;
        let baseWrite;
        let hasColors;
        let helpWidth;
        if (error) {
          baseWrite = (str) => this._outputConfiguration.writeErr(str);
          hasColors = this._outputConfiguration.getErrHasColors();
          helpWidth = this._outputConfiguration.getErrHelpWidth();
        } else {
          baseWrite = (str) => this._outputConfiguration.writeOut(str);
          hasColors = this._outputConfiguration.getOutHasColors();
          helpWidth = this._outputConfiguration.getOutHelpWidth();
        }
        const write = (str) => {
          if (!hasColors) str = this._outputConfiguration.stripColor(str);
          return baseWrite(str);
        };
        return { error, write, hasColors, helpWidth };
      }
      /**
       * Output help information for this command.
       *
       * Outputs built-in help, and custom text added using `.addHelpText()`.
       *
       * @param {{ error: boolean } | Function} [contextOptions] - pass {error:true} to write to stderr instead of stdout
       */
      outputHelp(contextOptions) {
        let deprecatedCallback;
        if (typeof contextOptions === "function") {
          deprecatedCallback = contextOptions;
          contextOptions = void 0;
        }
        const outputContext = this._getOutputContext(contextOptions);
        const eventContext = {
          error: outputContext.error,
          write: outputContext.write,
          command: this
        };
        this._getCommandAndAncestors().reverse().forEach((command) => command.emit("beforeAllHelp", eventContext));
        this.emit("beforeHelp", eventContext);
        let helpInformation = this.helpInformation({ error: outputContext.error });
        if (deprecatedCallback) {
          helpInformation = deprecatedCallback(helpInformation);
          if (typeof helpInformation !== "string" && !Buffer.isBuffer(helpInformation)) {
            throw new Error("outputHelp callback must return a string or a Buffer");
          }
        }
        outputContext.write(helpInformation);
        if (this._getHelpOption()?.long) {
          this.emit(this._getHelpOption().long);
        }
        this.emit("afterHelp", eventContext);
        this._getCommandAndAncestors().forEach(
          (command) => command.emit("afterAllHelp", eventContext)
        );
      }
      /**
       * You can pass in flags and a description to customise the built-in help option.
       * Pass in false to disable the built-in help option.
       *
       * @example
       * program.helpOption('-?, --help' 'show help'); // customise
       * program.helpOption(false); // disable
       *
       * @param {(string | boolean)} flags
       * @param {string} [description]
       * @return {Command} `this` command for chaining
       */
      helpOption(flags, description) {
        if (typeof flags === "boolean") {
          if (flags) {
            if (this._helpOption === null) this._helpOption = void 0;
            if (this._defaultOptionGroup) {
              this._initOptionGroup(this._getHelpOption());
            }
          } else {
            this._helpOption = null;
          }
          return this;
        }
        this._helpOption = this.createOption(
          flags ?? "-h, --help",
          description ?? "display help for command"
        );
        if (flags || description) this._initOptionGroup(this._helpOption);
        return this;
      }
      /**
       * Lazy create help option.
       * Returns null if has been disabled with .helpOption(false).
       *
       * @returns {(Option | null)} the help option
       * @package
       */
      _getHelpOption() {
        if (this._helpOption === void 0) {
          this.helpOption(void 0, void 0);
        }
        return this._helpOption;
      }
      /**
       * Supply your own option to use for the built-in help option.
       * This is an alternative to using helpOption() to customise the flags and description etc.
       *
       * @param {Option} option
       * @return {Command} `this` command for chaining
       */
      addHelpOption(option) {
        this._helpOption = option;
        this._initOptionGroup(option);
        return this;
      }
      /**
       * Output help information and exit.
       *
       * Outputs built-in help, and custom text added using `.addHelpText()`.
       *
       * @param {{ error: boolean }} [contextOptions] - pass {error:true} to write to stderr instead of stdout
       */
      help(contextOptions) {
        this.outputHelp(contextOptions);
        let exitCode = Number(process2.exitCode ?? 0);
        if (exitCode === 0 && contextOptions && typeof contextOptions !== "function" && contextOptions.error) {
          exitCode = 1;
        }
        this._exit(exitCode, "commander.help", "(outputHelp)");
      }
      /**
       * // Do a little typing to coordinate emit and listener for the help text events.
       * @typedef HelpTextEventContext
       * @type {object}
       * @property {boolean} error
       * @property {Command} command
       * @property {function} write
       */
      /**
       * Add additional text to be displayed with the built-in help.
       *
       * Position is 'before' or 'after' to affect just this command,
       * and 'beforeAll' or 'afterAll' to affect this command and all its subcommands.
       *
       * @param {string} position - before or after built-in help
       * @param {(string | Function)} text - string to add, or a function returning a string
       * @return {Command} `this` command for chaining
       */
      addHelpText(position, text) {
        const allowedValues = ["beforeAll", "before", "after", "afterAll"];
        if (!allowedValues.includes(position)) {
          throw new Error(`Unexpected value for position to addHelpText.
Expecting one of '${allowedValues.join("', '")}'`);
        }
        const helpEvent = `${position}Help`;
        this.on(helpEvent, (context) => {
          let helpStr;
          if (typeof text === "function") {
            helpStr = text({ error: context.error, command: context.command });
          } else {
            helpStr = text;
          }
          if (helpStr) {
            context.write(`${helpStr}
`);
          }
        });
        return this;
      }
      /**
       * Output help information if help flags specified
       *
       * @param {Array} args - array of options to search for help flags
       * @private
       */
      _outputHelpIfRequested(args) {
        const helpOption = this._getHelpOption();
        const helpRequested = helpOption && args.find((arg) => helpOption.is(arg));
        if (helpRequested) {
          this.outputHelp();
          this._exit(0, "commander.helpDisplayed", "(outputHelp)");
        }
      }
    };
    function incrementNodeInspectorPort(args) {
      return args.map((arg) => {
        if (!arg.startsWith("--inspect")) {
          return arg;
        }
        let debugOption;
        let debugHost = "127.0.0.1";
        let debugPort = "9229";
        let match;
        if ((match = arg.match(/^(--inspect(-brk)?)$/)) !== null) {
          debugOption = match[1];
        } else if ((match = arg.match(/^(--inspect(-brk|-port)?)=([^:]+)$/)) !== null) {
          debugOption = match[1];
          if (/^\d+$/.test(match[3])) {
            debugPort = match[3];
          } else {
            debugHost = match[3];
          }
        } else if ((match = arg.match(/^(--inspect(-brk|-port)?)=([^:]+):(\d+)$/)) !== null) {
          debugOption = match[1];
          debugHost = match[3];
          debugPort = match[4];
        }
        if (debugOption && debugPort !== "0") {
          return `${debugOption}=${debugHost}:${parseInt(debugPort) + 1}`;
        }
        return arg;
      });
    }
    function useColor() {
      if (process2.env.NO_COLOR || process2.env.FORCE_COLOR === "0" || process2.env.FORCE_COLOR === "false")
        return false;
      if (process2.env.FORCE_COLOR || process2.env.CLICOLOR_FORCE !== void 0)
        return true;
      return void 0;
    }
    exports.Command = Command4;
    exports.useColor = useColor;
  }
});

// node_modules/commander/index.js
var require_commander = __commonJS({
  "node_modules/commander/index.js"(exports) {
    var { Argument: Argument2 } = require_argument();
    var { Command: Command4 } = require_command();
    var { CommanderError: CommanderError2, InvalidArgumentError: InvalidArgumentError2 } = require_error();
    var { Help: Help2 } = require_help();
    var { Option: Option2 } = require_option();
    exports.program = new Command4();
    exports.createCommand = (name) => new Command4(name);
    exports.createOption = (flags, description) => new Option2(flags, description);
    exports.createArgument = (name, description) => new Argument2(name, description);
    exports.Command = Command4;
    exports.Option = Option2;
    exports.Argument = Argument2;
    exports.Help = Help2;
    exports.CommanderError = CommanderError2;
    exports.InvalidArgumentError = InvalidArgumentError2;
    exports.InvalidOptionArgumentError = InvalidArgumentError2;
  }
});

// node_modules/commander/esm.mjs
var import_index = __toESM(require_commander(), 1);
var {
  program,
  createCommand,
  createArgument,
  createOption,
  CommanderError,
  InvalidArgumentError,
  InvalidOptionArgumentError,
  // deprecated old name
  Command,
  Argument,
  Option,
  Help
} = import_index.default;

// src/cli/commands.ts
import { lstat, rm, writeFile as writeFile2 } from "node:fs/promises";

// src/cli/options.ts
var collect = (v, prev = []) => [...prev, v];
var STORAGE_FLAGS = ["endpoint", "region", "path-style", "preset"];
function storageOptions(cmd) {
  cmd.option("--endpoint <url>", "S3 endpoint for every S3 location without ?endpoint= (B2, R2, MinIO, \u2026)").option("--region <region>", "S3 region for every S3 location without ?region=").option("--path-style", "use path-style S3 URLs (MinIO and most self-hosted stores) where a location has no ?path-style=").addOption(new Option("--preset <name>", "S3 provider preset for every S3 location without ?preset=").choices(["aws", "b2", "r2", "minio", "generic"]));
  refuseRepeats(cmd, STORAGE_FLAGS);
  return cmd;
}
function refuseRepeats(cmd, flags) {
  const seen = /* @__PURE__ */ new Set();
  for (const flag of flags) {
    cmd.on(`option:${flag}`, () => {
      if (seen.has(flag)) {
        const key = flag === "path-style" ? "path-style=true" : `${flag}=\u2026`;
        cmd.error(`error: --${flag} given twice; to use different stores per destination put ?${key} in each location URL (s3://bucket/prefix?${key})`, {
          exitCode: 2,
          code: "strongbox.repeatedOption"
        });
      }
      seen.add(flag);
    });
  }
}
function commonOptions(cmd) {
  return storageOptions(cmd).option("--lock-wait <duration>", "wait this long for another run's lock on the destination (default: fail at once)").option("--lock-stale <duration>", "treat a lock not refreshed for this long as abandoned (default 30m)");
}
function storage(o) {
  return { endpoint: o.endpoint, region: o.region, pathStyle: !!o.pathStyle, preset: o.preset };
}
function releaseJson(origin) {
  const { gitSha, gitRef, backupRunSha, backupRunRef } = releaseOf(origin);
  return { gitSha, gitRef, backupRunSha, backupRunRef };
}
var CONFIG_HELP = "read locations, keys and settings from this strongbox.yml; flags given override it (a list flag replaces its list)";
function configOf(o) {
  return o.config !== void 0 ? loadConfigFile(o.config) : Promise.resolve(void 0);
}
var lockFlags = (o) => ({ lockWait: o.lockWait, lockStale: o.lockStale });
function readFlags(o) {
  return { ...storage(o), ...lockFlags(o), backup: o.backup, identityFile: o.identityFile, passphraseEnv: o.passphraseEnv, trustFiles: o.trust };
}
function printJson(value) {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

// src/config/describe.ts
import { existsSync } from "node:fs";
var is = (env, name) => env[name] !== void 0 && env[name] !== "";
function describeConfig(file, env) {
  const environment = [];
  const ref = (name, usedBy) => {
    if (name !== void 0) environment.push({ name, set: is(env, name), usedBy });
    return name;
  };
  const key = (at) => at.slice(at.lastIndexOf(": ") + 2);
  file.notify?.channels.forEach((c, i) => ref(c.env, `notify[${i}].url-env`));
  ref(file.notify?.secretEnv, "notify-secret-env");
  ref(file.notify?.healthcheckEnv, "healthcheck-env");
  const sources = (file.sources ?? []).map((s) => ({
    kind: s.kind,
    ...s.location !== void 0 ? { location: printable(s.location) } : {},
    ...s.env !== void 0 ? { env: ref(s.env, `${key(s.at)}.${s.kind}-env`) } : {},
    options: sourceOptions(s)
  }));
  const location = (l) => {
    for (const name of credentialNames(l.url)) {
      ref(`${name}_ACCESS_KEY_ID`, `${key(l.at)}.url`);
      ref(`${name}_SECRET_ACCESS_KEY`, `${key(l.at)}.url`);
    }
    return {
      ...l.name ? { name: l.name } : {},
      location: openDestination(l.url, {}, syntaxOnlyEnv(l.url)).display,
      ...l.retention ? { retention: retentionRules(l.retention) } : {},
      ...l.quota ? { quota: l.quota } : {}
    };
  };
  const e = file.encryption;
  return {
    file: file.path,
    ok: true,
    sources,
    destinations: file.destinations.map(location),
    copyTo: file.copyTo.map(location),
    encryption: !e ? { scheme: "not set" } : e.unencrypted ? { scheme: "none" } : e.passphraseEnv !== void 0 ? { scheme: "age", passphraseEnv: ref(e.passphraseEnv, "encryption.passphrase-env") } : { scheme: "age", recipients: e.recipients.map((r) => ({ recipient: r, fingerprint: recipientFingerprint(r) })) },
    ...file.signing ? { signing: { ...file.signing.keyFile ? { keyFile: file.signing.keyFile, keyFileExists: existsSync(file.signing.keyFile) } : {}, ...file.signing.keyEnv ? { keyEnv: ref(file.signing.keyEnv, "signing.key-env") } : {} } } : {},
    ...file.decryption ? {
      decryption: {
        ...file.decryption.identityFile ? { identityFile: file.decryption.identityFile, identityFileExists: existsSync(file.decryption.identityFile) } : {},
        ...file.decryption.identityEnv ? { identityEnv: ref(file.decryption.identityEnv, "decryption.identity-env") } : {},
        ...file.decryption.passphraseEnv ? { passphraseEnv: ref(file.decryption.passphraseEnv, "decryption.passphrase-env") } : {}
      }
    } : {},
    trust: file.trust.map((f) => ({ file: f, exists: existsSync(f) })),
    labels: file.labels,
    metadata: file.metadata,
    compression: { algorithm: file.compression ?? "zstd", ...file.level !== void 0 ? { level: file.level } : {} },
    groupBy: file.groupBy ?? DEFAULT_GROUP_BY,
    ...file.lockWait !== void 0 ? { lockWait: file.lockWait } : {},
    ...file.lockStale !== void 0 ? { lockStale: file.lockStale } : {},
    ...file.dbLockTimeout !== void 0 ? { dbLockTimeout: file.dbLockTimeout } : {},
    environment
  };
}
function credentialNames(url) {
  const q = url.indexOf("?");
  if (!/^s3:\/\//i.test(url) || q < 0) return [];
  return new URLSearchParams(url.slice(q + 1)).getAll("credentials").filter((n) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(n));
}
function sourceOptions(s) {
  const o = s.options;
  const out = {};
  if (o.schemas) out.schema = o.schemas;
  if (o.excludeSchemas) out["exclude-schema"] = o.excludeSchemas;
  if (o.tables) out.table = o.tables;
  if (o.excludeTables) out["exclude-table"] = o.excludeTables;
  if (o.excludeTableData) out["exclude-table-data"] = o.excludeTableData;
  if (o.rowSecurity) out["row-security"] = true;
  if (o.exclude) out.exclude = o.exclude;
  if (o.incremental) out.incremental = true;
  if (o.compare) out.compare = o.compare;
  if (s.kind !== "files") out["row-counts"] = o.rowCounts ?? "exact";
  return out;
}
function retentionRules(p) {
  const out = {};
  const map = [["keepLast", "keep-last"], ["keepHourly", "keep-hourly"], ["keepDaily", "keep-daily"], ["keepWeekly", "keep-weekly"], ["keepMonthly", "keep-monthly"], ["keepYearly", "keep-yearly"]];
  for (const [k, name] of map) if (p[k] !== void 0) out[name] = p[k];
  if (p.keepWithinMs !== void 0) out["keep-within"] = formatDuration(p.keepWithinMs);
  if (p.keepLabels?.length) out["keep-label"] = p.keepLabels;
  return out;
}
function formatDescription(d) {
  const lines = [`Configuration ${printable(d.file)}: OK`];
  const opts = (o) => Object.entries(o).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.map((x) => printable(String(x))).join(", ") : printable(String(v))}`).join("; ");
  const envState = (name) => `$${name} (${d.environment.find((e2) => e2.name === name)?.set ? "set" : "NOT SET here"})`;
  lines.push(`Sources (${d.sources.length}):`);
  if (!d.sources.length) lines.push("  none (give them with --postgres, --files, \u2026 on the command line)");
  for (const s of d.sources) lines.push(`  ${s.kind.padEnd(8)} ${s.env ? envState(s.env) : s.location}${Object.keys(s.options).length ? `  [${opts(s.options)}]` : ""}`);
  const loc = (l) => `  ${l.name ? `${printable(l.name)}: ` : ""}${l.location}  retention: ${l.retention ? opts(l.retention) : "none (never pruned)"}${l.quota ? `  quota: ${printable(l.quota.text)} (${l.quota.bytes} bytes = ${formatBytes(l.quota.bytes)})` : ""}`;
  lines.push(`Destinations (${d.destinations.length}), written by every backup:`, ...d.destinations.map(loc));
  if (d.copyTo.length) lines.push(`Copy-to tiers (${d.copyTo.length}), filled by strongbox copy:`, ...d.copyTo.map(loc));
  const e = d.encryption;
  lines.push(
    `Encryption: ${e.scheme === "not set" ? "not set (give --recipient or --passphrase-env)" : e.scheme === "none" ? "NONE (unencrypted: true)" : e.passphraseEnv ? `age passphrase from ${envState(e.passphraseEnv)}` : `age, ${e.recipients.length} recipient(s): ${e.recipients.map((r) => `${r.recipient} (${r.fingerprint})`).join(", ")}`}`
  );
  if (d.signing) lines.push(`Signing: ${d.signing.keyFile ? `key file ${printable(d.signing.keyFile)} (${d.signing.keyFileExists ? "present" : "NOT FOUND here"})` : envState(d.signing.keyEnv)}`);
  if (d.decryption) {
    const parts = [
      d.decryption.identityFile ? `identity file ${printable(d.decryption.identityFile)} (${d.decryption.identityFileExists ? "present" : "NOT FOUND here"})` : "",
      d.decryption.identityEnv ? `identity from ${envState(d.decryption.identityEnv)}` : "",
      d.decryption.passphraseEnv ? `passphrase from ${envState(d.decryption.passphraseEnv)}` : ""
    ].filter(Boolean);
    lines.push(`Decryption (restore, rollback, verify --deep): ${parts.join(", ")}`);
  }
  if (d.trust.length) lines.push(`Trusted signing keys: ${d.trust.map((t2) => `${printable(t2.file)}${t2.exists ? "" : " (NOT FOUND here)"}`).join(", ")}`);
  lines.push(`Labels: ${d.labels.length ? d.labels.join(", ") : "none"}`);
  const meta = Object.entries(d.metadata);
  lines.push(`Metadata: ${meta.length ? meta.map(([k, v]) => `${k}=${printable(v)}`).join(", ") : "none"}`);
  lines.push(
    `Compression: ${d.compression.algorithm}${d.compression.level !== void 0 ? ` level ${d.compression.level}` : ""}; group-by: ${d.groupBy}${d.lockWait ? `; lock-wait: ${d.lockWait}` : ""}${d.lockStale ? `; lock-stale: ${d.lockStale}` : ""}${d.dbLockTimeout ? `; db-lock-timeout: ${d.dbLockTimeout}` : ""}`
  );
  if (d.environment.length) {
    lines.push("Environment variables it reads (values never shown):");
    for (const v of d.environment) lines.push(`  ${v.name.padEnd(24)} ${v.set ? "set        " : "NOT SET here"}  ${printable(v.usedBy)}`);
  }
  return lines.join("\n") + "\n";
}

// src/config/prune.ts
function resolvePruneConfig(flags, file, env, reporter) {
  const groupBy = parseGroupBy(flags.groupBy ?? file?.groupBy);
  const incompleteGraceMs = flags.incompleteGrace?.trim() ? parseDuration(flags.incompleteGrace, "--incomplete-grace") : void 0;
  const policy = { keepLast: flags.keepLast, keepHourly: flags.keepHourly, keepDaily: flags.keepDaily, keepWeekly: flags.keepWeekly, keepMonthly: flags.keepMonthly, keepYearly: flags.keepYearly, keepWithin: flags.keepWithin, keepLabels: flags.keepLabels };
  if (!given(flags.from) && !file) throw new UsageError("--from is required", "a path, file://PATH or s3://bucket/prefix, or --config FILE listing the locations and their retention");
  const plan = resolveRetentionPlan(file, { policy, locations: flags.from, storage: flags, reporter, env });
  if (plan.length === 0) {
    throw new UsageError(
      "the retention policy is empty",
      file ? `give at least one --keep-* rule, or a retention: { keep-daily: 7, \u2026 } to the locations in ${file.path}` : "give at least one --keep-* rule, e.g. --keep-daily 7 --keep-weekly 4 --keep-monthly 12"
    );
  }
  const lock = resolveLock({ lockWait: flags.lockWait ?? file?.lockWait, lockStale: flags.lockStale ?? file?.lockStale }, env);
  return plan.map((p) => ({ destination: p.destination, policy: p.policy, groupBy, dryRun: !!flags.dryRun, force: !!flags.force, incompleteGraceMs, reporter, lock, policyFrom: p.from, config: p.config }));
}

// src/config/copy.ts
function resolveCopyConfig(flags, file, env, reporter) {
  const from = openLocations(flags.from !== void 0 ? [flags.from] : void 0, file?.destinations.slice(0, 1) ?? [], flags, "--from", file, reporter, env)[0].destination;
  const noTiers = file !== void 0 && !given(flags.to) && file.copyTo.length === 0;
  const to = noTiers ? [] : openLocations(flags.to, file?.copyTo ?? [], flags, "--to", file, reporter, env).map((o) => o.destination);
  for (const d of to) if (d.display === from.display) throw new UsageError(`copy --to ${d.display} is the same location as --from`, "copy between two different locations");
  const confirm = flags.confirm?.trim() || "hash";
  if (confirm !== "hash" && confirm !== "size") throw new UsageError(`--confirm-upload "${confirm}" must be hash or size`);
  return {
    from,
    to,
    selectors: flags.backups ?? [],
    all: !!flags.all,
    // With the file and no selector: what each tier lacks that is newer than its newest backup
    // of the series. A missed night is caught up; what the tier's retention removed stays removed.
    newer: !!flags.newer || file !== void 0 && !flags.all && !given(flags.backups) && !given(flags.labels),
    groupBy: file?.groupBy,
    labels: flags.labels ?? [],
    init: !!flags.init,
    confirm,
    reporter,
    lock: resolveLock({ lockWait: flags.lockWait ?? file?.lockWait, lockStale: flags.lockStale ?? file?.lockStale }, env)
  };
}

// src/cli/history-command.ts
import { writeFile } from "node:fs/promises";

// src/config/history.ts
function resolveHistoryConfig(flags, file, env, reporter) {
  const { destination, label } = resolveListConfig({ ...flags, label: flags.label }, file, env, reporter);
  const groupBy = flags.groupBy !== void 0 ? parseGroupBy(flags.groupBy) : file?.groupBy ?? parseGroupBy(void 0);
  const series = flags.series?.trim() || void 0;
  return { destination, filters: { series, label, groupBy } };
}
function resolveShowConfig(flags, file, env, reporter) {
  const { destination } = resolveListConfig(flags, file, env, reporter);
  return { destination, selection: { selector: flags.backup?.trim() || "latest" }, groupBy: file?.groupBy ?? parseGroupBy(void 0) };
}

// src/report/svg-chart.ts
var M = { left: 70, right: 16, top: 26, bottom: 30 };
function lineChart(o) {
  const width = o.width ?? 560;
  const height = o.height ?? 200;
  const all = o.lines.flatMap((l) => l.points);
  const tMin = Math.min(...all.map((p) => p.t));
  const tMax = Math.max(...all.map((p) => p.t));
  const vMax = Math.max(0, ...all.map((p) => p.v));
  const plotW = width - M.left - M.right;
  const plotH = height - M.top - M.bottom;
  const x = (t2) => M.left + (tMax > tMin ? (t2 - tMin) / (tMax - tMin) * plotW : plotW / 2);
  const y = (v) => M.top + plotH - (vMax > 0 ? v / vMax * plotH : 0);
  const f = (n) => n.toFixed(1);
  const attrs = Object.entries(o.attrs ?? {}).map(([k, v]) => ` ${k}="${escapeHtml(v)}"`).join("");
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img"${attrs}>`);
  out.push(`<title>${escapeHtml(o.title)}</title>`);
  out.push(`<text x="${M.left}" y="16" class="chart-title">${escapeHtml(o.title)}</text>`);
  out.push(`<line class="axis" x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${M.top + plotH}"/>`);
  out.push(`<line class="axis" x1="${M.left}" y1="${M.top + plotH}" x2="${M.left + plotW}" y2="${M.top + plotH}"/>`);
  out.push(`<text class="tick" x="${M.left - 6}" y="${M.top + 4}" text-anchor="end">${escapeHtml(o.format(vMax))}</text>`);
  out.push(`<text class="tick" x="${M.left - 6}" y="${M.top + plotH}" text-anchor="end">${escapeHtml(o.format(0))}</text>`);
  if (all.length) {
    out.push(`<text class="tick" x="${M.left}" y="${height - 8}">${escapeHtml(day(tMin))}</text>`);
    if (tMax > tMin) out.push(`<text class="tick" x="${M.left + plotW}" y="${height - 8}" text-anchor="end">${escapeHtml(day(tMax))}</text>`);
  }
  for (const l of o.lines) {
    if (!l.points.length) continue;
    const pts = [...l.points].sort((a, b) => a.t - b.t);
    const d = pts.map((p, i) => `${i ? "L" : "M"}${f(x(p.t))},${f(y(p.v))}`).join(" ");
    out.push(`<path class="line" data-line="${escapeHtml(l.name)}" d="${d}" fill="none" stroke="${escapeHtml(l.color)}" stroke-width="2"/>`);
    for (const p of pts) {
      const cls = p.alert ? "point alert" : "point";
      const r = p.alert ? 6 : 3.5;
      const fill = p.alert ? "#d1242f" : l.color;
      out.push(`<circle class="${cls}" cx="${f(x(p.t))}" cy="${f(y(p.v))}" r="${r}" fill="${fill}"><title>${escapeHtml(p.label)}</title></circle>`);
    }
  }
  if (o.lines.length > 1) {
    let lx = M.left + plotW;
    for (const l of [...o.lines].reverse()) {
      const w = 14 + l.name.length * 7;
      lx -= w + 10;
      out.push(`<rect x="${lx}" y="8" width="10" height="10" fill="${escapeHtml(l.color)}"/><text class="tick" x="${lx + 14}" y="17">${escapeHtml(l.name)}</text>`);
    }
  }
  out.push("</svg>");
  return out.join("");
}
function day(t2) {
  return new Date(t2).toISOString().slice(0, 16).replace("T", " ");
}

// src/report/history-html.ts
var CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";
var STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;white-space:nowrap}
tr.alert td{background:#fff1f0}tr.damaged td{background:#ffebe9;color:#82071e}
.badge{display:inline-block;border-radius:8px;padding:0 6px;font-size:12px;background:#d1242f;color:#fff}
.tag{display:inline-block;border:1px solid #d0d7de;border-radius:8px;padding:0 6px;margin:1px;font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.chart .axis{stroke:#8c959f}.chart .tick{font-size:11px;fill:#57606a}.chart .chart-title{font-size:13px;font-weight:600;fill:#1f2328}
ul.alerts{margin:2px 0;padding-left:18px;color:#82071e}
code{font:12px ui-monospace,monospace}
`;
var COLORS = { stored: "#0969da", plaintext: "#8250df", duration: "#1a7f37" };
var t = (s) => escapeHtml(printable(s));
function historyHtml(h, generatedAt) {
  const out = [];
  out.push('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">');
  out.push(`<meta http-equiv="Content-Security-Policy" content="${CSP}">`);
  out.push(`<title>Strongbox history: ${t(h.location)}</title><style>${STYLE}</style></head><body>`);
  out.push(`<h1>Strongbox history of <code>${t(h.location)}</code></h1>`);
  const filters = [h.filters.series !== void 0 ? `series ${t(h.filters.series)}` : "", h.filters.label !== void 0 ? `label ${t(h.filters.label)}` : ""].filter(Boolean);
  out.push(`<p>Series by ${t(h.groupBy)}${filters.length ? `; only ${filters.join(", ")}` : ""}. Generated ${t(generatedAt.toISOString())}.</p>`);
  out.push(totalsTable(h));
  for (const s of h.series) out.push(seriesSection(h, s.series));
  out.push("<h2>Backups</h2>");
  out.push(backupsTable(h.rows));
  out.push("</body></html>\n");
  return out.join("\n");
}
function totalsTable(h) {
  const rows = h.series.map(
    (s) => `<tr data-series="${t(s.series)}"><td>${t(s.seriesShort)}</td><td class="num">${s.backups}</td><td class="num">${formatBytes(s.storedBytes)}</td><td class="num">${formatBytes(s.plaintextBytes)}</td><td class="num">${s.alerts ? `<span class="badge">${s.alerts}</span>` : "0"}</td><td>${t(shortTime(s.first))} \u2026 ${t(shortTime(s.last))}</td></tr>`
  );
  const x = h.totals;
  rows.push(
    `<tr class="total"><th>${h.filters.series !== void 0 || h.filters.label !== void 0 ? "Shown" : "Repository"}</th><th class="num">${x.backups}${x.damaged ? ` (+${x.damaged} damaged)` : ""}</th><th class="num">${formatBytes(x.storedBytes)}</th><th class="num">${formatBytes(x.plaintextBytes)}</th><th class="num">${x.alerts}</th><th>${x.series} series</th></tr>`
  );
  return `<table class="totals"><thead><tr><th>Series</th><th>Backups</th><th>Stored</th><th>Plaintext</th><th>Alerts</th><th>From \u2026 to</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}
function seriesSection(h, series) {
  const rows = h.rows.filter((r) => r.series === series);
  const short = printable(rows[0]?.seriesShort ?? series);
  const point = (r, v, kinds) => ({
    t: Date.parse(r.time),
    label: printable(`${r.id} ${shortTime(r.time)}: ${v}${r.alerts.length ? ` \u2014 ${r.alerts.map((a) => a.message).join("; ")}` : ""}`),
    alert: r.alerts.some((a) => kinds.includes(a.kind))
  });
  const sizeKinds = ["stored-size", "plaintext-size", "rows", "entries", "quota"];
  const size = lineChart({
    title: `Size: ${short}`,
    format: formatBytes,
    attrs: { "data-series": series, "data-chart": "size" },
    lines: [
      { name: "stored", color: COLORS.stored, points: rows.map((r) => ({ ...point(r, formatBytes(r.storedBytes), sizeKinds), v: r.storedBytes })) },
      { name: "plaintext", color: COLORS.plaintext, points: rows.map((r) => ({ ...point(r, formatBytes(r.plaintextBytes), sizeKinds), v: r.plaintextBytes })) }
    ]
  });
  const duration = lineChart({
    title: `Duration: ${short}`,
    format: formatSeconds,
    attrs: { "data-series": series, "data-chart": "duration" },
    lines: [{ name: "duration", color: COLORS.duration, points: rows.map((r) => ({ ...point(r, formatSeconds(r.durationSeconds), ["duration"]), v: r.durationSeconds })) }]
  });
  const full = short !== series ? `<p>Artifacts: <code>${t(series)}</code></p>` : "";
  return `<section class="series" data-series="${t(series)}"><h2>Series ${t(short)}</h2>${full}<div class="charts">${size}${duration}</div></section>`;
}
function backupsTable(rows) {
  const body = [...rows].reverse().map((r) => {
    if (r.damaged) {
      return `<tr class="damaged" data-id="${t(r.id)}"><td>${t(shortTime(r.time))}</td><td><code>${t(r.id)}</code></td><td colspan="6"><strong>DAMAGED</strong>: ${t(r.damaged)}</td></tr>`;
    }
    const tags = [...r.labels.map((l) => `<span class="tag">${t(l)}</span>`), ...Object.entries(r.metadata).map(([k, v]) => `<span class="tag">${t(k)}=${t(v)}</span>`)].join(" ");
    const alerts = r.alerts.length ? `<span class="badge" title="${r.alerts.length} alert(s)">${r.alerts.length}</span><ul class="alerts">${r.alerts.map((a) => `<li>${t(a.message)}</li>`).join("")}</ul>` : "";
    return `<tr class="backup${r.alerts.length ? " alert" : ""}" data-id="${t(r.id)}" data-series="${t(r.series ?? "")}"><td>${t(shortTime(r.time))}</td><td><code>${t(r.id)}</code></td><td>${t(r.seriesShort ?? "")}</td><td class="num">${formatBytes(r.storedBytes)}</td><td class="num">${formatBytes(r.plaintextBytes)}</td><td class="num">${formatSeconds(r.durationSeconds)}</td><td>${alerts}</td><td>${tags}</td></tr>`;
  });
  return `<table class="backups"><thead><tr><th>Time (UTC)</th><th>Backup</th><th>Series</th><th>Stored</th><th>Plaintext</th><th>Duration</th><th>Alerts</th><th>Labels / metadata</th></tr></thead><tbody>${body.join("")}</tbody></table>`;
}

// src/cli/history-command.ts
function registerHistoryCommand(program2, ctx) {
  const { reporter, env } = ctx;
  storageOptions(
    program2.command("history").description("per backup its time, series, labels, stored and plaintext size, duration and alerts, with totals per series and for the repository; --html writes a page with charts").option("--from <dest>", "where the backups are: a path, file://PATH, s3://bucket/prefix or a location name of --config (default with --config: its first destination)").option("--config <file>", CONFIG_HELP).option("--series <name>", "only this series (its name as history shows it, short or full)").option("--label <label>", "only backups with this label").option("--group-by <what>", "what makes a series: sources (set of artifact names), labels, sources,labels or none (default: sources, or group-by: of --config)").option("--json", "print the history as JSON on stdout").option("--html <file>", "write a self-contained HTML page (charts of size and duration per series, the table, alerts marked) to FILE and print only where it went (with --json, the JSON is printed too)")
  ).action(async (o) => {
    const cfg = resolveHistoryConfig({ ...storage(o), from: o.from, series: o.series, label: o.label, groupBy: o.groupBy }, await configOf(o), env, reporter);
    const entries = await listBackups(cfg.destination, reporter);
    const history = buildHistory(entries, cfg.destination.display, cfg.filters);
    if (cfg.filters.series !== void 0 && !history.rows.some((r) => r.series !== null)) {
      const known = buildHistory(entries, cfg.destination.display, { ...cfg.filters, series: void 0 }).series;
      throw new NotFoundError(
        `no backup at ${cfg.destination.display} is in series ${printable(cfg.filters.series)}`,
        known.length ? `the series there${cfg.filters.label !== void 0 ? ` (with label ${printable(cfg.filters.label)})` : ""}: ${known.map((k) => printable(k.seriesShort === k.series ? k.series : `${k.seriesShort} (= ${k.series})`)).join(", ")}` : "there are no complete backups there to list series of"
      );
    }
    if (o.html !== void 0) {
      try {
        await writeFile(o.html, historyHtml(history, /* @__PURE__ */ new Date()));
      } catch (err) {
        throw new UsageError(`cannot write --html ${printable(o.html)}: ${err.code ?? err.message}`, "check that its folder exists and is writable");
      }
      const wrote = `wrote ${printable(o.html)}: ${history.totals.backups} backup(s) in ${history.totals.series} series`;
      if (o.json) reporter.info(wrote);
      else {
        process.stdout.write(`${wrote}
`);
        return;
      }
    }
    if (o.json) printJson(history);
    else process.stdout.write(formatHistory(history));
  });
}

// src/report/show-text.ts
function formatShow(m, series, signature) {
  const p = printable;
  const o = m.origin;
  const lines = [];
  const field = (name, value) => lines.push(`${name.padEnd(11)}${value}`);
  lines.push(`backup ${p(m.id)}`);
  field("time", `${shortTime(m.startedAt)} \u2026 ${shortTime(m.finishedAt)} (${formatSeconds(typeof m.durationSeconds === "number" ? m.durationSeconds : 0)})`);
  field("series", p(series));
  field("labels", m.labels.length ? m.labels.map(p).join(", ") : "-");
  const meta = Object.entries(m.metadata ?? {});
  field("metadata", meta.length ? meta.map(([k, v]) => `${p(k)}=${p(v)}`).join(", ") : "-");
  const run = [o.repository && `repository ${p(o.repository)}`, o.workflow && `workflow ${p(o.workflow)}`, o.runId && `run ${p(o.runId)}${o.runAttempt ? ` (attempt ${p(o.runAttempt)})` : ""}`, o.actor && `by ${p(o.actor)}`, o.eventName && `on ${p(o.eventName)}`];
  field("origin", [`host ${p(o.host ?? "?")}`, ...run].filter(Boolean).join(", "));
  if (o.sha || o.ref) field("git", `${p(o.sha ?? "?")}${o.ref ? ` ${p(o.ref)}` : ""} (the run that took it)`);
  if (o.deployedSha || o.deployedRef) field("deployed", `${p(o.deployedSha ?? "?")}${o.deployedRef ? ` ${p(o.deployedRef)}` : ""} (the release running against this data)`);
  field("tool", `${p(m.tool?.name ?? "strongbox")} ${p(m.tool?.version ?? "?")}, format ${p(m.format)}`);
  const enc = m.encryption;
  field("encryption", describeEncryption(enc, p));
  field("signature", describeSignature(signature, false));
  const stored = m.artifacts.reduce((n, a) => n + a.stored.size, 0);
  const plain = m.artifacts.reduce((n, a) => n + a.plaintext.size, 0);
  field("size", `${formatBytes(stored)} stored, ${formatBytes(plain)} plaintext`);
  const alerts = Array.isArray(m.alerts) ? m.alerts : [];
  field("alerts", alerts.length ? `${alerts.length}` : "none");
  for (const a of alerts) lines.push(`  ! ${p(String(a.message))}`);
  lines.push(`artifacts  ${m.artifacts.length}`);
  for (const a of m.artifacts) {
    const s = a.source ?? {};
    const src = Object.entries(s).filter(([, v]) => v !== void 0 && v !== null && (typeof v !== "object" || Array.isArray(v))).map(([k, v]) => `${p(k)} ${p(String(v))}`).join(", ");
    lines.push(`  ${p(a.name)} (${p(a.kind)})`);
    if (src) lines.push(`    source     ${src}`);
    const c = collectionFigures(a);
    lines.push(`    object     ${p(a.key)}${c ? " (the index of a collection)" : ""}`);
    if (c) {
      lines.push(`    members    ${describeMembers(c)}`);
      lines.push(`    packs      ${describePacks(c)}`);
      if (typeof a.collection?.refs?.key === "string") lines.push(`    refs       ${p(a.collection.refs.key)}`);
    }
    lines.push(`    plaintext  ${formatBytes(a.plaintext.size)}  sha256 ${p(a.plaintext.sha256)}`);
    lines.push(`    stored     ${formatBytes(a.stored.size)}  sha256 ${p(a.stored.sha256)}`);
    lines.push(`    codecs     ${p(a.compression.algorithm)}${a.compression.level !== void 0 ? ` level ${a.compression.level}` : ""}, encryption ${p(a.encryption.scheme)}`);
    const rows = Object.entries(a.rowCounts ?? {});
    if (rows.length) {
      const total = rows.reduce((n, [, c2]) => n + c2, 0);
      lines.push(`    rows       ${total} in ${rows.length} table(s)${a.rowCountMode === "estimate" ? " (estimates)" : ""}`);
      const width = Math.max(...rows.map(([t2]) => p(t2).length));
      for (const [t2, c2] of rows) lines.push(`      ${p(t2).padEnd(width)}  ${c2}`);
    }
  }
  return lines.join("\n") + "\n";
}
function describeEncryption(enc, p) {
  if (enc.scheme === "none") return "none (unencrypted)";
  if (enc.recipients.length === 1 && enc.recipients[0] === "scrypt") return "age, passphrase (scrypt)";
  return `age, ${enc.recipients.length} recipient(s): ${enc.recipients.map(p).join(", ")}`;
}

// src/cli/show-command.ts
function registerShowCommand(program2, ctx) {
  const { reporter, env } = ctx;
  storageOptions(
    program2.command("show").description("a backup's manifest for humans: artifacts, sizes, checksums, row counts, origin, labels, metadata, duration, alerts and signature status").option("--from <dest>", "where the backups are: a path, file://PATH, s3://bucket/prefix or a location name of --config (default with --config: its first destination)").option("--config <file>", CONFIG_HELP).option("--backup <selector>", "backup id, latest, or label:NAME (default: latest)").option("--json", "print it as JSON on stdout")
  ).action(async (o) => {
    const cfg = resolveShowConfig({ ...storage(o), from: o.from, backup: o.backup }, await configOf(o), env, reporter);
    const entries = await listBackups(cfg.destination, reporter);
    const chosen = selectBackup(entries, cfg.selection);
    warnNewerDamaged(entries, chosen, cfg.selection.selector, reporter);
    const names = seriesNames(entries.flatMap((e) => e.manifest && !e.damaged ? [e.manifest] : []), cfg.groupBy);
    const series = names.get(seriesKeyOf(chosen.manifest, cfg.groupBy)) ?? "";
    const signature = await readSignatureStatus(cfg.destination, chosen);
    const m = chosen.manifest;
    if (o.json) {
      printJson({
        ...m,
        series,
        labels: m.labels,
        metadata: m.metadata ?? {},
        alerts: Array.isArray(m.alerts) ? m.alerts : [],
        storedBytes: m.artifacts.reduce((n, a) => n + a.stored.size, 0),
        plaintextBytes: m.artifacts.reduce((n, a) => n + a.plaintext.size, 0),
        ...releaseJson(m.origin),
        ...signatureJson(signature),
        signatureStatus: describeSignature(signature, false)
      });
      return;
    }
    process.stdout.write(formatShow(m, series, signature));
  });
}

// src/cli/drill-command.ts
function formatDrill(r) {
  const lines = [`drill of ${r.backupId} (${r.startedAt}, series ${printable(r.series)})`];
  for (const a of r.artifacts) {
    const what = [a.rows ? `${a.rows.rows} rows in ${a.rows.tables} tables compared` : "", a.compared ? `${a.compared} compared` : ""].filter(Boolean).join(", ");
    const status = a.status === "ok" ? "ok        " : a.status === "skipped" ? "skipped   " : "DIFFERENCE";
    const secs = a.seconds !== void 0 ? `  ${a.seconds.toFixed(1)}s` : "";
    lines.push(`  ${status} ${printable(a.name)}${a.target ? ` \u2192 ${a.target}` : ""}${secs}${what ? `  (${what})` : ""}${a.problem ? `: ${printable(a.problem)}` : ""}`);
  }
  for (const c of r.checks) lines.push(`  check ${c.ok ? "ok    " : "FAILED"} ${printable(c.check)} \u2014 ${printable(c.detail)}`);
  const restored = r.artifacts.filter((a) => a.status !== "skipped").length;
  lines.push(`RTO ${r.rtoSeconds.toFixed(1)}s in total (download, decrypt, decompress and restore of ${restored} artifact(s), one after another; comparisons and checks not counted)`);
  for (const k of r.kept) lines.push(`kept ${k} (--keep)`);
  return lines.join("\n") + "\n";
}
function registerDrillCommand(program2, ctx) {
  const { reporter, env } = ctx;
  commonOptions(
    program2.command("drill").description("restore a backup into scratch targets (never production), compare it with its manifest, run checks and measure the restore time (RTO); exit 10 on any difference").option("--from <dest>", "where the backups are: a path, file://PATH, s3://bucket/prefix or a location name of --config (default with --config: its first destination)").option("--config <file>", "read locations, keys and settings from this strongbox.yml; flags given override it").option("--backup <selector>", "backup id, latest, or label:NAME (default: latest)").option("--identity-file <file>", "age identity file (default with --config: its decryption:)").option("--passphrase-env <name>", "environment variable holding the passphrase").option("--trust <file.pub>", "refuse a backup not signed by this key (repeatable; replaces trust: of --config)", collect, []).option("--postgres-scratch <url>", "PostgreSQL server to drill on: postgres://user@host:port/ (the drill creates a database strongbox_drill_<time>_<id> and drops it afterwards); a URL naming an existing database is refused").option("--postgres-scratch-env <name>", "environment variable holding that URL (keeps its password out of the process list)").option("--mysql-scratch <url>", "MySQL/MariaDB server to drill on: mysql://user@host:port/ (created and dropped as for --postgres-scratch)").option("--mysql-scratch-env <name>", "environment variable holding that URL").option("--sqlite-scratch <path>", "restore the SQLite artifact into this new file (default: a temporary file)").option("--files-scratch <dir>", "restore the file tree into this empty or new directory (default: a temporary directory)").option("--check-sql <sql>", "after the restore, this SQL must succeed and return rows; NAME:SQL runs it on artifact NAME's scratch database, plain SQL on the first restored database (repeatable)", collect, []).option("--only <name>", "drill only this artifact (repeatable; the others are reported as left out); without it every database artifact needs its --<kind>-scratch", collect, []).option("--max-age <duration>", "the drill fails if the backup is older than this, e.g. 8d").option("--keep", "leave what the drill created (scratch databases, files) in place").option("--db-lock-timeout <duration>", "fail when a database lock blocks the restore for this long (default: 5m, or db-lock-timeout: of --config)").option("--pg-bin <dir>", "PostgreSQL: folder holding pg_restore/psql to prefer").option("--json", "print the result as JSON on stdout")
  ).action(async (o) => {
    const options = await resolveDrillConfig(
      {
        ...readFlags(o),
        from: o.from,
        postgresScratch: o.postgresScratch,
        postgresScratchEnv: o.postgresScratchEnv,
        mysqlScratch: o.mysqlScratch,
        mysqlScratchEnv: o.mysqlScratchEnv,
        sqliteScratch: o.sqliteScratch,
        filesScratch: o.filesScratch,
        checkSql: o.checkSql,
        only: o.only,
        maxAge: o.maxAge,
        keep: o.keep,
        dbLockTimeout: o.dbLockTimeout,
        pgBin: o.pgBin,
        argv: true
      },
      await configOf(o),
      env,
      reporter
    );
    const result = await drill(options);
    ctx.outcome = drillOutcome(result);
    if (o.json) printJson(result);
    else process.stdout.write(formatDrill(result));
    if (!result.ok) {
      const differ = result.artifacts.filter((a) => a.status === "difference").map((a) => printable(a.name));
      const failedChecks = result.checks.filter((c) => !c.ok).length;
      const what = [
        ...differ.length ? [`${differ.join(", ")} did not restore as recorded`] : [],
        ...failedChecks ? [`${failedChecks} of ${result.checks.length} check(s) failed${differ.length ? "" : " although the backup restored as recorded"}`] : []
      ];
      reporter.error(`DRILL FAILED for backup ${result.backupId}: ${what.join("; ")} (see above)`);
      ctx.exitCode = result.exitCode;
    } else reporter.info(`OK: drill of ${result.backupId} restored ${result.artifacts.filter((a) => a.status === "ok").length} artifact(s) as recorded in ${result.rtoSeconds.toFixed(1)}s`);
  });
}

// src/cli/commands.ts
function printWritten(result) {
  const verbs = result.dryRun ? { write: "would write", replace: "would replace", same: "unchanged" } : { write: "wrote", replace: "replaced", same: "unchanged" };
  for (const r of result.restored) {
    const w = r.written;
    if (!w) continue;
    for (const l of w.listed) process.stdout.write(`${verbs[l.action]} ${printable(l.name)}
`);
    const shown = w.listed.length < w.written + w.replaced + w.same ? ` (${w.listed.length} listed)` : "";
    const counts = result.dryRun ? `${w.written} to write, ${w.replaced} to replace, ${w.same} unchanged (dry run: nothing was written)` : `${w.written} written, ${w.replaced} replaced, ${w.same} unchanged`;
    process.stdout.write(`${printable(r.name)} \u2192 ${r.target}: ${counts}${shown}
`);
  }
}
async function refuseExisting(file) {
  if (await lstat(file).then(() => true, () => false)) {
    throw new RefusedError(`${printable(file)} already exists; keygen does not overwrite keys`, "choose another --output (backups made for the existing key still need it to restore)");
  }
}
async function writeNew(file, text, mode) {
  try {
    await writeFile2(file, text, { mode, flag: "wx" });
  } catch (err) {
    if (err.code === "EEXIST") await refuseExisting(file);
    throw new UsageError(`cannot write ${printable(file)}: ${err.code ?? err.message}`, "check that its folder exists and is writable");
  }
}
function describeLocation(dest) {
  if (dest instanceof S3Destination) return `bucket ${printable(dest.bucket)}, prefix ${printable(dest.prefix) || "(none)"}${dest.endpointHost ? ` at ${dest.endpointHost}` : ""} (${dest.url})`;
  return dest.display;
}
var DB_LOCK_TIMEOUT_HELP = "fail when a database lock held by another session (a PostgreSQL table lock, a MySQL swap, an SQLite writer) blocks the dump or restore for this long (default: 5m, or db-lock-timeout: of --config)";
function targetFlags(o) {
  const { postgresTarget, postgresTargetEnv, mysqlTarget, mysqlTargetEnv, sqliteTarget, filesTarget, bucketTarget } = o;
  return { postgresTarget, postgresTargetEnv, mysqlTarget, mysqlTargetEnv, sqliteTarget, filesTarget, bucketTarget, argv: true };
}
function perLocation(values, file) {
  return (values?.length ?? 0) > 1 || file !== void 0 && !values?.length;
}
async function eachLocation(dests, what, work, reporter) {
  const outcomes = [];
  for (const [i, d] of dests.entries()) {
    try {
      outcomes.push({ location: d.display, result: await work(d, i) });
    } catch (err) {
      if (cancellation()) throw err;
      const known = err instanceof StrongboxError;
      const error = errorMessage(err);
      const hint = known ? err.hint : void 0;
      reporter.error(`${what} ${d.display} failed: ${error}${hint ? `
  hint: ${hint}` : ""}`);
      outcomes.push({ location: d.display, error, hint, exitCode: known ? err.exitCode : ExitCode.failure });
    }
  }
  return outcomes;
}
function tiersExitCode(outcomes) {
  const done = outcomes.flatMap((x) => "result" in x ? [x.result] : []);
  const failed = outcomes.flatMap((x) => "error" in x ? [x] : []);
  const damaged = done.find((r) => r.exitCode !== ExitCode.ok);
  if (damaged) return damaged.exitCode;
  if (!failed.length) return ExitCode.ok;
  return done.length ? ExitCode.partial : failed[0].exitCode;
}
function collectionJson(a) {
  const f = collectionFigures(a);
  if (!f) return {};
  const { name: _, ...figures } = f;
  return { collection: figures };
}
function collectionNote(a) {
  const f = collectionFigures(a);
  return f ? ` [${describeMembers(f)}]` : "";
}
function printPrune(result, indent = "") {
  const out = (line) => process.stdout.write(`${indent}${line}
`);
  for (const s of result.series) {
    out(`series ${printable(s.name)}`);
    for (const k of result.kept.filter((x) => x.series === s.name)) out(`  keep   ${k.id} ${k.startedAt}  (${k.reasons.map(printable).join(", ")})`);
    for (const r of result.removed.filter((x) => x.series === s.name)) out(`  ${result.dryRun ? "would remove" : "remove"} ${r.id} ${r.startedAt}`);
  }
  for (const r of result.incompleteRemoved) out(`${result.dryRun ? "would remove" : "remove"} ${r} (incomplete)`);
  for (const r of result.retained) out(`retain ${r.id} (delete refused: ${r.reason})`);
  const packs = result.packs;
  if (result.dryRun) for (const p of packs.removed) out(`would remove ${p.key} (${formatBytes(p.size)}, unreferenced pack)`);
  if (packs.removed.length || packs.young || packs.failed.length) {
    out(`packs: ${result.dryRun ? "would remove" : "removed"} ${packs.removed.length} unreferenced (${formatBytes(packs.bytes)}), ${packs.referenced} in use, ${packs.young} unreferenced but within the grace period${packs.failed.length ? `, ${packs.failed.length} could not be deleted` : ""}`);
  }
  if (packs.skipped) out(`packs: none collected: ${packs.skipped}`);
  for (const g of result.guarded) {
    out(`${g.forced ? "guard overridden (--force)" : "guarded"}: series ${printable(g.series)}, drop alert(s) on backup ${g.backup}: ${g.alerts.map((a) => a.message).join("; ")}`);
  }
}
var seconds = (s) => `${s.toFixed(1)} s`;
function registerCommands(program2, ctx) {
  const { reporter, env } = ctx;
  program2.command("keygen").description("create an age identity (prints its public recipient age1\u2026 on stderr), or with --signing an SSH signing key").option("-o, --output <file>", "write the identity to FILE (mode 0600) instead of stdout").option("--signing", "create an Ed25519 signing key for manifests: FILE (OpenSSH private key) and FILE.pub (needs --output)").action(async (o) => {
    if (o.signing) {
      if (!o.output) throw new UsageError("keygen --signing needs --output FILE", "it writes the private key to FILE and the public key to FILE.pub");
      const key = generateSigningKey("strongbox-signing");
      const pub = `${o.output}.pub`;
      for (const f of [o.output, pub]) await refuseExisting(f);
      await writeNew(o.output, formatPrivateKey(key), 384);
      try {
        await writeNew(pub, formatPublicKey(key.publicKey) + "\n", 420);
      } catch (err) {
        await rm(o.output, { force: true });
        throw err;
      }
      process.stderr.write(`Signing key: ${printable(o.output)} (keep it secret; backup --sign-key)
Public key: ${printable(pub)} (verify/restore/rollback --trust), fingerprint ${fingerprint(key.publicKey.raw)}
`);
      return;
    }
    const { identity, recipient } = generateIdentity();
    const text = `# created: ${(/* @__PURE__ */ new Date()).toISOString()}
# public key: ${recipient}
${identity}
`;
    if (o.output) await writeNew(o.output, text, 384);
    else process.stdout.write(text);
    process.stderr.write(`Public key: ${recipient}
Fingerprint: ${recipientFingerprint(recipient)} (show lists a backup's recipients by this)
`);
  });
  storageOptions(
    program2.command("init").description("create a Strongbox repository (the last folder of a path under an existing parent, or a bucket prefix); nothing changes where one exists").option("--to <dest>", "where: a path, file://PATH, s3://bucket/prefix or a location name of --config (repeatable; default with --config: every destination and copy-to tier)", collect).option("--config <file>", CONFIG_HELP).option("--json", "print the result as JSON on stdout")
  ).action(async (o) => {
    const dests = resolveInitConfig({ ...storage(o), to: o.to }, await configOf(o), env, reporter);
    const made = await initRepositories(dests, /* @__PURE__ */ new Date(), (w) => reporter.warning(w));
    if (o.json) {
      printJson(dests.map((dest, i) => ({ destination: dest.display, created: made[i], format: FORMAT_VERSION })));
      return;
    }
    for (const [i, dest] of dests.entries()) {
      process.stdout.write(
        made[i] ? `created a Strongbox repository at ${describeLocation(dest)} (format ${FORMAT_VERSION})
` : `${describeLocation(dest)} already holds a Strongbox repository; nothing changed
`
      );
    }
  });
  commonOptions(
    program2.command("backup").description("back up databases and file trees to one or more destinations; with --config FILE, what the file describes (flags override it). It does not copy or prune: then run strongbox copy/prune --config FILE").option("--config <file>", "a strongbox.yml: its sources, destinations, encryption, signing, labels, metadata, compression and lock settings apply unless a flag gives them (a list flag such as --to or any source flag replaces the file's list)").option("--to <dest>", "destination: a path, file://PATH, s3://bucket/prefix or the name of a location in --config (repeatable; default: the file's destinations)", collect, []).option("--postgres <url>", "PostgreSQL database URL to dump (repeatable)", collect, []).option("--postgres-env <name>", "environment variable holding a PostgreSQL URL to dump, keeping its password out of the process list (repeatable)", collect, []).option("--mysql <url>", "MySQL/MariaDB database URL to dump, mysql://user@host:port/db (repeatable)", collect, []).option("--mysql-env <name>", "environment variable holding a MySQL/MariaDB URL to dump (repeatable)", collect, []).option("--sqlite <path>", "SQLite database file to copy consistently (repeatable)", collect, []).option("--files <path>", "file tree to archive (repeatable)", collect, []).option("--exclude <glob>", "glob of paths to leave out of --files trees (repeatable)", collect, []).option("--bucket <url>", "S3 bucket (and prefix) to back up object by object, s3://bucket/prefix?endpoint=\u2026&credentials=NAME (repeatable)", collect, []).option("--all-versions", "--bucket: back up the non-current versions of a versioned bucket too").option("--incremental", "store --files trees as collections: unchanged files are referenced, not stored again").addOption(new Option("--compare <how>", "incremental trees and buckets: what says a member is unchanged: metadata (files: size, mtime, ctime, inode; objects: size,etag; default) or checksum (read everything)").choices(["metadata", "checksum", "size,etag"])).option("--state-dir <dir>", "incremental trees and buckets: keep the list of what was backed up here, so the next run reads only what changed (without it: deduplicated against the repository)").option("--content-key-env <name>", "environment variable holding the secret that blob names are keyed with (default: derived from the recipients or passphrase)").option("--allow-shrink", "let a bucket listing that is empty or down more than 50 % through the delete shield").option("--recipient <age1\u2026>", "age public key to encrypt to (repeatable)", collect, []).option("--passphrase-env <name>", "encrypt with the passphrase held in this environment variable").option("--unencrypted", "write a plaintext backup (refused unless given)").option("--sign-key <file>", "sign the manifest with this SSH signing key (strongbox keygen --signing)").option("--init", "create the repository first if the destination holds none (as `strongbox init` does)").option("--label <label>", "label to find the backup by, e.g. pre-release (repeatable; replaces the file's labels)", collect, []).option("--meta <key=value>", "record this in the manifest, e.g. --meta release=v1.4.2 (repeatable; merged over the file's metadata)", collect, []).addOption(new Option("--compression <alg>", "compression (default: zstd)").choices(["zstd", "gzip", "none"])).option("--level <n>", "compression level (zstd 1-19, default 3; gzip 1-9, default 6)").option("--deployed-sha <sha>", "git sha of the release running against this data (what a rollback to this backup redeploys)").option("--deployed-ref <ref>", "git ref of that release, e.g. refs/tags/v1.4.1").option("--db-lock-timeout <duration>", "fail when a database lock held by another session (a PostgreSQL table lock, a MySQL swap, an SQLite writer) blocks the dump or restore for this long (default: 5m)").option("--schema <pattern>", "PostgreSQL: dump only schemas matching this pattern (repeatable; pg_dump --schema)", collect, []).option("--exclude-schema <pattern>", "PostgreSQL: leave out schemas matching this pattern (repeatable)", collect, []).option("--table <pattern>", "PostgreSQL: dump only tables matching this pattern, e.g. public.orders (repeatable; pg_dump --table)", collect, []).option("--exclude-table <pattern>", "PostgreSQL: leave out tables matching this pattern (repeatable)", collect, []).option("--exclude-table-data <pattern>", "PostgreSQL: keep these tables' definitions but not their rows (repeatable)", collect, []).option("--row-security", "PostgreSQL: dump with row-level security on (pg_dump --enable-row-security): a tenant role's dump holds only its rows").addOption(new Option("--row-counts <mode>", "rows per table recorded in the manifest: exact (in the dump's snapshot, compared after a restore), estimate (planner statistics, not compared) or none (default: exact)").choices(["exact", "estimate", "none"])).option("--pg-bin <dir>", "PostgreSQL: folder holding pg_dump/psql to prefer (else PATH, then /usr/lib/postgresql/*/bin)").addOption(new Option("--confirm-upload <mode>", "read each stored object back and check its SHA-256 (hash) or only its size (default: hash)").choices(["hash", "size"])).option("--alert-size-change <pct>", "alert when an artifact's plaintext or stored size moves more than this against the median of its series' last backups (default 20%; 0 off)").option("--alert-duration-change <pct>", "alert when the backup takes this much longer than the median of its series (default 50%; 0 off)").option("--alert-rows-drop <pct>", "alert when a table's exact row count, or a file tree's entry count, drops more than this (default 20%; 0 off)").option("--fail-on-alert", "exit 9 when the backup raised an alert (it stays committed)").option("--no-fail-on-alert", "do not, whatever the file's alerts: { fail: true } says").option("--quota <size>", "alert when a destination holds this share of SIZE (e.g. 200GB; each --to, over the file's quota:)").option("--quota-alert <pct>", "the share of the quota that raises the alert (default 80%)").option("--json", "print the result as JSON on stdout")
  ).action(async (o) => {
    const file = o.config !== void 0 ? await loadConfigFile(o.config) : void 0;
    const flags = {
      to: o.to,
      postgres: o.postgres,
      postgresEnv: o.postgresEnv,
      mysql: o.mysql,
      mysqlEnv: o.mysqlEnv,
      sqlite: o.sqlite,
      files: o.files,
      bucket: o.bucket,
      allVersions: o.allVersions ? true : void 0,
      exclude: o.exclude,
      incremental: !!o.incremental,
      compare: o.compare,
      stateDir: o.stateDir,
      contentKeyEnv: o.contentKeyEnv,
      allowShrink: !!o.allowShrink,
      rowCounts: o.rowCounts,
      postgresOptions: {
        schemas: o.schema,
        excludeSchemas: o.excludeSchema,
        tables: o.table,
        excludeTables: o.excludeTable,
        excludeTableData: o.excludeTableData,
        rowSecurity: !!o.rowSecurity,
        pgBin: o.pgBin
      },
      recipients: o.recipient,
      passphraseEnv: o.passphraseEnv,
      unencrypted: !!o.unencrypted,
      signKeyFile: o.signKey,
      labels: o.label,
      meta: o.meta,
      compression: o.compression,
      level: o.level,
      confirm: o.confirmUpload,
      deployedSha: o.deployedSha,
      deployedRef: o.deployedRef,
      init: !!o.init,
      lockWait: o.lockWait,
      lockStale: o.lockStale,
      dbLockTimeout: o.dbLockTimeout,
      alertSizeChange: o.alertSizeChange,
      alertDurationChange: o.alertDurationChange,
      alertRowsDrop: o.alertRowsDrop,
      failOnAlert: o.failOnAlert,
      quota: o.quota,
      quotaAlert: o.quotaAlert,
      argv: true,
      ...storage(o)
    };
    const alerting = resolveAlertSettings(flags, file);
    const options = await resolveBackupConfig(flags, file, env, reporter);
    let result;
    try {
      result = await backup(options);
    } catch (err) {
      ctx.outcome = failedBackupOutcome(err);
      throw err;
    }
    ctx.outcome = backupOutcome(result);
    for (const d of result.destinations) {
      if (d.status === "failed") reporter.warning(`backup ${result.id} was NOT committed at ${d.location}: ${d.error}${d.hint ? `
  ${d.hint}` : ""}`);
    }
    if (result.status === "partial") ctx.exitCode = ExitCode.partial;
    const committed = backupLocations(options, flags, file).filter((_, i) => result.destinations[i]?.status === "committed");
    const quota = await checkQuotas(quotaTargets(committed, alerting.quotaBytes), reporter, alerting.quotaAlertPercent);
    const alerts = [...result.alerts, ...quota.flatMap((q) => q.alert ? [q.alert] : [])];
    if (alerts.length) ctx.outcome = { ...ctx.outcome, alerts };
    if (alerts.length && alerting.failOnAlert && ctx.exitCode === 0) ctx.exitCode = ExitCode.alert;
    const left = file ? [...file.copyTo.length ? ["copy"] : [], ...[...file.destinations, ...file.copyTo].some((l) => l.retention) ? ["prune"] : []] : [];
    if (left.length) {
      reporter.info(`backup ${result.id} was not ${left.map((c) => c === "copy" ? "copied" : "pruned").join(" or ")}: then run ${left.map((c) => `strongbox ${c} --config ${printable(file.path)}`).join(" and ")}`);
    }
    if (o.json) {
      printJson({
        id: result.id,
        status: result.status,
        labels: result.manifest.labels,
        destinations: result.destinations,
        plaintextBytes: result.plaintextBytes,
        storedBytes: result.storedBytes,
        durationSeconds: result.durationSeconds,
        signedBy: options.signingKey ? fingerprint(options.signingKey.publicKey.raw) : null,
        artifacts: result.manifest.artifacts.map((a) => ({ name: a.name, kind: a.kind, key: a.key, plaintextBytes: a.plaintext.size, storedBytes: a.stored.size, storedSha256: a.stored.sha256 })),
        quota,
        alerts
      });
    } else process.stdout.write(`${result.id}
`);
  });
  storageOptions(
    program2.command("list").description("list complete (and damaged) backups, oldest first").option("--from <dest>", "where the backups are: a path, file://PATH, s3://bucket/prefix or a location name of --config (default with --config: its first destination)").option("--config <file>", CONFIG_HELP).option("--label <label>", "only backups with this label").option("--all", "also show incomplete (interrupted) backups").option("--json", "print the result as JSON on stdout")
  ).action(async (o) => {
    const { destination: dest, label, all } = resolveListConfig({ ...storage(o), from: o.from, label: o.label, all: o.all }, await configOf(o), env, reporter);
    const entries = (await listBackups(dest, reporter)).filter(
      // A damaged backup is shown even without --all: hiding it would hide a lost backup.
      (e) => (all || e.complete || !!e.damaged) && (!label || e.manifest?.labels.includes(label))
    );
    const signatures = new Map(await Promise.all(entries.filter((e) => e.complete).map(async (e) => [e.id, await readSignatureStatus(dest, e)])));
    if (o.json) {
      printJson(
        entries.map((e) => ({
          id: e.id,
          complete: e.complete,
          ...e.damaged ? { damaged: e.damaged } : {},
          startedAt: e.manifest?.startedAt,
          labels: e.manifest?.labels ?? [],
          storedBytes: e.manifest?.artifacts.reduce((n, a) => n + a.stored.size, 0),
          artifacts: e.manifest?.artifacts.map((a) => ({ name: a.name, kind: a.kind, from: sourceIdentity(a) || void 0, ...collectionJson(a) })) ?? [],
          ...e.manifest ? releaseJson(e.manifest.origin) : {},
          ...e.complete ? signatureJson(signatures.get(e.id)) : { signedBy: null }
        }))
      );
      return;
    }
    if (!entries.length) reporter.info(`no backups at ${dest.display}`);
    for (const e of entries) {
      const size = e.manifest ? `  ${formatBytes(e.manifest.artifacts.reduce((n, a) => n + a.stored.size, 0))}` : "";
      const sig = signatures.get(e.id);
      const from = e.manifest ? `  ${e.manifest.artifacts.map((a) => describeArtifact(a) + collectionNote(a)).join(", ")}` : "";
      process.stdout.write(`${describeBackup(e)}${size}${sig?.signed ? `  ${describeSignature(sig, false)}` : ""}${from}
`);
    }
  });
  commonOptions(
    program2.command("verify").description("check that a backup is present and intact (and, with --deep, that it decrypts); with several --from, also that every location holds it with the same SHA-256s").option("--from <dest>", "where the backups are (repeatable: the backup is resolved at the first and must be identical at every one; default with --config: every destination of the file)", collect).option("--config <file>", CONFIG_HELP).option("--backup <selector>", "backup id, latest, or label:NAME (default: latest)").option("--deep", "also decrypt and decompress, checking the plaintext SHA-256 (the key: the flags below, else decryption: of --config)").option("--identity-file <file>", "age identity file (implies --deep)").option("--passphrase-env <name>", "environment variable holding the passphrase (implies --deep)").option("--trust <file.pub>", "require the manifest to be signed by this key (repeatable; replaces trust: of --config)", collect, []).option("--max-age <duration>", "fail if the backup is older than this, e.g. 26h").option("--json", "print the result as JSON on stdout")
  ).action(async (o) => {
    const { destinations, destination, ...options } = await resolveVerifyConfig(
      { ...readFlags(o), from: o.from, deep: o.deep, maxAge: o.maxAge },
      await configOf(o),
      env,
      reporter
    );
    if (destinations.length > 1) {
      const across = await verifyAcross({ ...options, destinations });
      ctx.outcome = verifyAcrossOutcome(across);
      if (o.json) printJson(across);
      if (across.ok) reporter.info(`OK: backup ${across.backupId} verified at ${destinations.length} locations, identical SHA-256s${across.locations[0]?.result?.deep ? " (deep)" : ""}, in ${seconds(across.durationSeconds)}`);
      else {
        const bad = across.locations.filter((l) => !l.result?.ok || across.problems.some((p) => p.location === l.location)).map((l) => l.location);
        reporter.error(`backup ${across.backupId} failed verification across locations at ${bad.join(", ")}: listed above (checked in ${seconds(across.durationSeconds)})`);
        ctx.exitCode = across.exitCode;
      }
      return;
    }
    const result = await verify({ ...options, destination });
    ctx.outcome = verifyOutcome(result, destination.display);
    if (o.json) printJson(result);
    if (result.ok) reporter.info(`OK: backup ${result.backupId} verified${result.deep ? " (deep)" : ""}${options.trusted ? `, signed by trusted key ${result.signature.signer}` : ""}, in ${seconds(result.durationSeconds)}`);
    else {
      reporter.error(`backup ${result.backupId} failed verification: ${result.problems.length} problem(s), listed above (checked in ${seconds(result.durationSeconds)})`);
      ctx.exitCode = result.exitCode;
    }
  });
  commonOptions(
    program2.command("copy").description("copy complete backups from one repository to others (a NAS, another bucket or provider) as stored bytes, no key needed; backups already there are skipped").option("--from <src>", "where the backups are: a path, file://PATH, s3://bucket/prefix or a location name of --config (default with --config: its first destination)").option("--to <dst>", "the repository to copy them to (repeatable; default with --config: its copy-to tiers)", collect).option("--config <file>", CONFIG_HELP).option("--backup <selector>", "backup id, latest, or label:NAME (repeatable)", collect, []).option("--all", "every complete backup at --from").option("--new", "every complete backup newer than the newest one of its series at --to (the default with --config when no --backup, --label or --all is given): a nightly tier copy that catches up missed nights but never re-copies what the tier pruned").option("--label <label>", "every complete backup with this label (repeatable)", collect, []).option("--init", "create the repository at --to first if it holds none (as `strongbox init` does)").addOption(new Option("--confirm-upload <mode>", "read each copied object back and check its SHA-256 (hash, the default) or only its size").choices(["hash", "size"])).option("--json", "print the result as JSON on stdout")
  ).action(async (o) => {
    const file = await configOf(o);
    const cfg = resolveCopyConfig(
      { ...storage(o), ...lockFlags(o), from: o.from, to: o.to, backups: o.backup, all: o.all, newer: o.new, labels: o.label, init: o.init, confirm: o.confirmUpload },
      file,
      env,
      reporter
    );
    const copyTo = (destination) => copy({ source: cfg.from, destination, selectors: cfg.selectors, all: cfg.all, newer: cfg.newer, groupBy: cfg.groupBy, labels: cfg.labels, confirm: cfg.confirm, init: cfg.init, reporter, lock: cfg.lock });
    const report = (result, indent = "") => {
      if (!o.json) for (const b of result.backups) process.stdout.write(`${indent}${b.status} ${b.id}${b.status === "copied" ? ` ${formatBytes(b.bytes)}` : ""}
`);
      if (result.failed) reporter.error(`${result.failed} backup(s) not copied to ${result.destination}, listed above`);
    };
    if (!perLocation(o.to, file)) {
      const result = await copyTo(cfg.to[0]);
      ctx.outcome = copyOutcome([{ location: result.destination, result }]);
      if (o.json) printJson(result);
      report(result);
      if (result.failed) ctx.exitCode = result.exitCode;
      return;
    }
    if (!cfg.to.length) {
      reporter.info(`nothing to copy: ${printable(file.path)} lists no copy-to: tiers`);
      if (o.json) printJson([]);
      return;
    }
    const outcomes = await eachLocation(cfg.to, "copy to", copyTo, reporter);
    ctx.outcome = copyOutcome(outcomes);
    if (o.json) printJson(outcomes.map((x) => "result" in x ? x.result : { source: cfg.from.display, destination: x.location, error: x.error, hint: x.hint, exitCode: x.exitCode }));
    for (const x of outcomes) {
      if (!("result" in x)) continue;
      if (!o.json) process.stdout.write(`to ${x.location}
`);
      report(x.result, "  ");
    }
    ctx.exitCode = tiersExitCode(outcomes);
  });
  commonOptions(
    program2.command("restore").description("restore a backup into a database and/or a directory").option("--from <dest>", "where the backups are: a path, file://PATH, s3://bucket/prefix or a location name of --config (default with --config: its first destination)").option("--config <file>", CONFIG_HELP).option("--backup <selector>", "backup id, latest, or label:NAME (default: latest)").option("--identity-file <file>", "age identity file (default with --config: its decryption:)").option("--passphrase-env <name>", "environment variable holding the passphrase").option("--trust <file.pub>", "refuse a backup not signed by this key (repeatable; replaces trust: of --config)", collect, []).option("--postgres-target <url>", "database to restore the PostgreSQL artifact into").option("--postgres-target-env <name>", "environment variable holding that database URL (keeps its password out of the process list)").option("--mysql-target <url>", "MySQL/MariaDB database to restore the MySQL artifact into").option("--mysql-target-env <name>", "environment variable holding that database URL").option("--sqlite-target <path>", "file to restore the SQLite artifact into").option("--files-target <dir>", "directory to restore the file-tree artifact into").option("--bucket-target <url>", "S3 bucket (and prefix) to write a bucket backup's objects into, with their content types and metadata").option("--only <name>", "restore only this artifact (repeatable)", collect, []).option("--path <glob>", "restore only the entries (files) or members (objects) matching GLOB, a folder with all it holds, INTO the target: equal files are left alone, differing ones need --force (repeatable)", collect, []).option("--dry-run", "list what would be written, replaced or left alone; write nothing").option("--before <time>", "among matching backups, the newest taken before this time (or git sha)").option("--force", "replace a non-empty target (with --path: replace the files that differ)").option("--db-lock-timeout <duration>", DB_LOCK_TIMEOUT_HELP).option("--pg-bin <dir>", "PostgreSQL: folder holding pg_restore/psql to prefer (else PATH, then /usr/lib/postgresql/*/bin)").option("--json", "print the result as JSON on stdout")
  ).action(async (o) => {
    const options = await resolveRestoreConfig(
      { ...readFlags(o), from: o.from, ...targetFlags(o), only: o.only, paths: o.path, dryRun: o.dryRun, before: o.before, force: o.force, dbLockTimeout: o.dbLockTimeout, pgBin: o.pgBin },
      await configOf(o),
      env,
      reporter
    );
    const result = await restore(options);
    ctx.outcome = restoreOutcome(result);
    if (o.json) printJson({ backupId: result.backupId, restored: result.restored, durationSeconds: result.durationSeconds, ...result.dryRun ? { dryRun: true } : {}, ...releaseJson(result.manifest.origin) });
    else if (options.dryRun || options.paths?.length) printWritten(result);
  });
  commonOptions(
    program2.command("prune").description("delete backups that no retention rule keeps; the rules apply per series (--group-by), and the newest complete backup of every series always stays").option("--from <dest>", "where the backups are (repeatable; default with --config: every destination and copy-to tier that has a retention:)", collect).option("--config <file>", CONFIG_HELP).option("--keep-last <n>", "keep the N newest backups").option("--keep-hourly <n>", "keep the newest backup of each of the last N hours (UTC) that have one").option("--keep-daily <n>", "keep the newest backup of each of the last N days that have one").option("--keep-weekly <n>", "keep the newest backup of each of the last N ISO weeks that have one").option("--keep-monthly <n>", "keep the newest backup of each of the last N months that have one").option("--keep-yearly <n>", "keep the newest backup of each of the last N years that have one").option("--keep-within <duration>", "keep every backup taken within DURATION of the newest one").option("--keep-label <label>", "keep every backup with this label (repeatable)", collect, []).option("--group-by <what>", "apply the rules to each series separately: sources (set of artifact names), labels, sources,labels or none (default: sources)").option("--incomplete-grace <duration>", "remove incomplete (interrupted) backups only when older than this (default: 24h)").option("--dry-run", "show what would be deleted, delete nothing").option("--force", "prune even a series the retention guard holds (the newest backup of its data carries a size, row or entry-count drop alert)").option("--json", "print the result as JSON on stdout")
  ).action(async (o) => {
    const file = await configOf(o);
    const plan = resolvePruneConfig(
      {
        ...storage(o),
        ...lockFlags(o),
        from: o.from,
        keepLast: o.keepLast,
        keepHourly: o.keepHourly,
        keepDaily: o.keepDaily,
        keepWeekly: o.keepWeekly,
        keepMonthly: o.keepMonthly,
        keepYearly: o.keepYearly,
        keepWithin: o.keepWithin,
        keepLabels: o.keepLabel,
        groupBy: o.groupBy,
        incompleteGrace: o.incompleteGrace,
        dryRun: o.dryRun,
        force: !!o.force
      },
      file,
      env,
      reporter
    );
    const run = ({ policyFrom: _from, config: _config, ...options }) => prune(options);
    if (!perLocation(o.from, file)) {
      const result = await run(plan[0]);
      ctx.outcome = pruneOutcome([{ location: plan[0].destination.display, result }]);
      if (o.json) printJson(result);
      else printPrune(result);
      return;
    }
    for (const l of file ? [...file.destinations, ...file.copyTo] : []) {
      if (!plan.some((p) => p.config === l)) reporter.info(`${l.name ?? printable(l.url)} is not pruned: it has no retention: in ${printable(file.path)}`);
    }
    const outcomes = await eachLocation(plan.map((p) => p.destination), "prune of", (_d, i) => run(plan[i]), reporter);
    ctx.outcome = pruneOutcome(outcomes);
    if (o.json) printJson(outcomes.map((x, i) => "result" in x ? { location: x.location, policyFrom: plan[i].policyFrom, ...x.result } : x));
    else {
      for (const [i, x] of outcomes.entries()) {
        if (!("result" in x)) continue;
        process.stdout.write(`location ${x.location} (${plan[i].policyFrom === "file" ? `retention: of ${printable(file?.path ?? "")}` : "the --keep-* flags"})
`);
        printPrune(x.result, "  ");
      }
    }
    const failed = outcomes.find((x) => "error" in x);
    if (failed && "error" in failed) ctx.exitCode = failed.exitCode;
  });
  commonOptions(
    program2.command("rollback").description("restore the snapshot taken before a release, after a verified safety backup of the current state").option("--from <dest>", "where the backups are: a path, file://PATH, s3://bucket/prefix or a location name of --config (default with --config: its first destination)").option("--config <file>", CONFIG_HELP).requiredOption("--backup <selector>", "backup id, latest, or label:NAME (must match one backup)").option("--before <sha|time>", "among matching backups, the one taken before this git sha or time").option("--identity-file <file>", "age identity file (its recipient also encrypts the safety backup; default with --config: its decryption:)").option("--passphrase-env <name>", "environment variable holding the passphrase").option("--recipient <age1\u2026>", "also encrypt the safety backup to this recipient (repeatable; replaces encryption.recipients of --config)", collect, []).option("--trust <file.pub>", "refuse a snapshot not signed by this key (repeatable; replaces trust: of --config)", collect, []).option("--sign-key <file>", "sign the safety backup with this SSH signing key (default with --config: its signing:)").option("--postgres-target <url>", "database to roll back").option("--postgres-target-env <name>", "environment variable holding that database URL (keeps its password out of the process list)").option("--mysql-target <url>", "MySQL/MariaDB database to roll back").option("--mysql-target-env <name>", "environment variable holding that database URL").option("--sqlite-target <path>", "SQLite database file to roll back").option("--files-target <dir>", "directory to roll back").requiredOption("--confirm <name>", "repeat the target database name (or the files target folder name)").option("--check-sql <sql>", "after the rollback, this SQL must succeed and return rows (repeatable)", collect, []).option("--check-file <path>", "after the rollback, this path (relative to --files-target) must exist").option("--db-lock-timeout <duration>", DB_LOCK_TIMEOUT_HELP).option("--pg-bin <dir>", "PostgreSQL: folder holding pg_dump/pg_restore/psql to prefer (else PATH, then /usr/lib/postgresql/*/bin)").option("--json", "print the result as JSON on stdout")
  ).action(async (o) => {
    const options = await resolveRollbackConfig(
      {
        ...readFlags(o),
        from: o.from,
        ...targetFlags(o),
        before: o.before,
        recipients: o.recipient,
        signKeyFile: o.signKey,
        confirm: o.confirm,
        checkSql: o.checkSql,
        checkFile: o.checkFile,
        dbLockTimeout: o.dbLockTimeout,
        pgBin: o.pgBin
      },
      await configOf(o),
      env,
      reporter
    );
    const result = await rollback(options);
    ctx.outcome = rollbackOutcome(result);
    if (o.json) printJson(result);
    else process.stdout.write(`rolled back to ${result.backupId}${result.gitSha ? ` (redeploy git ${result.gitSha})` : ""}; safety backup ${result.safetyBackupId}; took ${seconds(result.durationSeconds)}
`);
    if (result.checks.some((c) => !c.ok)) ctx.exitCode = ExitCode.verifyFailed;
  });
  registerHistoryCommand(program2, ctx);
  registerShowCommand(program2, ctx);
  registerDrillCommand(program2, ctx);
  const config = program2.command("config").description("work with a strongbox.yml configuration file");
  config.command("check").description("check a configuration file and print it as the commands will read it (secrets are only named, never shown); exit 2 on any problem").requiredOption("--config <file>", "the configuration file, e.g. strongbox.yml").option("--json", "print the result as JSON on stdout").action(async (o) => {
    let file;
    try {
      file = await loadConfigFile(o.config);
    } catch (err) {
      if (o.json && err instanceof ConfigFileError) printJson({ file: err.file, ok: false, problems: err.problems });
      throw err;
    }
    const description = describeConfig(file, env);
    if (o.json) printJson(description);
    else process.stdout.write(formatDescription(description));
    const unset = description.environment.filter((v) => !v.set);
    if (unset.length) reporter.warning(`${unset.length} environment variable(s) the file names are not set here: ${unset.map((v) => v.name).join(", ")} (fine on a machine that does not run the backup)`);
  });
}

// src/cli/notify-flags.ts
var NOTIFYING_COMMANDS = ["backup", "verify", "drill", "prune", "copy", "restore", "rollback"];
function notifyOptions(cmd) {
  if (cmd.options.some((o) => o.long === "--notify")) return cmd;
  return cmd.option("--notify <url>", "send the outcome to this channel: https://\u2026 (JSON webhook), slack+https://hooks.slack.com/services/\u2026, smtp://user@host:587?from=\u2026&to=\u2026 (repeatable; replaces notify: of --config; webhook and Slack URLs are credentials: prefer --notify-env)", collect).option("--notify-env <name>", "send the outcome to the channel whose URL is in this environment variable (repeatable; keeps webhook and Slack URLs, which are credentials, out of the process list)", collect).option("--notify-secret-env <name>", "sign webhook bodies with the secret in this environment variable (header X-Strongbox-Signature: sha256=HMAC)").addOption(new Option("--notify-on <when>", "failure: failures, partial results and alerts (the default); always: also every success").choices(["failure", "always"])).option("--notify-timeout <duration>", "give up one delivery attempt after this long (default 10s; 2 retries with backoff)").option("--healthcheck <url>", "healthchecks.io ping URL: URL/start at the start, URL on success, URL/fail on failure, with the last lines of the log").option("--healthcheck-env <name>", "the healthcheck ping URL from this environment variable (it is a credential: keeps it out of the process list)");
}
function notifyFlags(o) {
  return {
    notify: o.notify,
    notifySecretEnv: o.notifySecretEnv,
    notifyOn: o.notifyOn,
    notifyTimeout: o.notifyTimeout,
    healthcheck: o.healthcheck,
    notifyEnv: o.notifyEnv,
    healthcheckEnv: o.healthcheckEnv,
    argv: true
  };
}
async function startCliMonitor(operation, o, env, reporter, tail) {
  const file = typeof o.config === "string" ? await loadConfigFile(o.config) : void 0;
  const deps = { reporter, mask: (s) => reporter.mask(s), logTail: () => tail.get() };
  let settings;
  try {
    settings = resolveNotifyConfig(notifyFlags(o), file, env, reporter);
  } catch (err) {
    await pingFailedSetup(operation, err, deps);
    throw err;
  }
  if (monitoringOff(settings)) return void 0;
  return startMonitor(operation, settings, deps);
}

// src/cli/main.ts
async function main(argv, env = process.env, io = {}) {
  quietAwsNodeVersionWarning();
  ignoreOutputErrors();
  const tail = new LogTail();
  const terminal = io.terminal ?? !!process.stderr.isTTY;
  const reporterOptions = {
    verbose: !!env.STRONGBOX_DEBUG,
    timestamps: !terminal,
    now: io.now,
    progress: terminal ? "terminal" : "log",
    progressIntervalMs: progressInterval(env.STRONGBOX_PROGRESS_INTERVAL_MS),
    onLine: (line) => tail.add(line)
  };
  const reporter = new ConsoleReporter(reporterOptions);
  const program2 = new Command("strongbox").version(VERSION).description("Backup, verify and restore PostgreSQL databases and file trees to local folders and S3-compatible storage.").option("-q, --quiet", "no progress and no informational lines; warnings, errors and results still print (also after the command: strongbox backup --quiet \u2026)").option("--verbose", "also print debug lines (why no alert fired, each notification delivered \u2026); the same as STRONGBOX_DEBUG=1").exitOverride().configureOutput({ writeErr: (s) => reporter.writeErr(s), writeOut: (s) => process.stdout.write(s) }).configureHelp({ showGlobalOptions: true }).showHelpAfterError("(run with --help for usage)");
  program2.hook("preAction", () => {
    if (program2.opts().quiet) reporter.quiet = true;
    if (program2.opts().verbose) reporterOptions.verbose = true;
  });
  const ctx = { reporter, env, exitCode: ExitCode.ok };
  registerCommands(program2, ctx);
  for (const c of program2.commands) if (NOTIFYING_COMMANDS.includes(c.name())) notifyOptions(c);
  let monitor;
  program2.hook("preAction", async (_program, action) => {
    if (action.parent === program2 && NOTIFYING_COMMANDS.includes(action.name())) {
      monitor = await startCliMonitor(action.name(), action.opts(), env, reporter, tail);
    }
  });
  const command = argv.find((a) => !a.startsWith("-")) ?? "strongbox";
  const uninstall = handleCancelSignals({ what: command, print: (line) => reporter.notice(line) });
  let ended;
  try {
    ended = await run();
  } finally {
    uninstall();
  }
  if (monitor) {
    const error = ended.error ?? (ended.code !== ExitCode.ok && tail.lastError() ? { message: tail.lastError() } : void 0);
    await monitor.finish({ exitCode: ended.code, outcome: ctx.outcome, error });
  }
  return ended.code;
  async function run() {
    try {
      await program2.parseAsync(argv, { from: "user" });
      const late = cancellation();
      if (late) reporter.warning(`${late.signal} arrived after the ${command} had completed; its result stands`);
      return { code: ctx.exitCode };
    } catch (err) {
      const cancelled = cancellation();
      if (cancelled) {
        const line = cancellationLine(command);
        if (!forcedExitUnderway()) reporter.notice(line);
        if (reporterOptions.verbose) reporter.debug(`after cancellation: ${errorMessage(err)}`);
        return { code: CANCEL_EXIT_CODES[cancelled.signal], error: { message: line } };
      }
      if (err instanceof CommanderError) {
        return { code: err.exitCode === 0 ? ExitCode.ok : ExitCode.usage, error: { message: err.message } };
      }
      if (err instanceof StrongboxError) {
        reporter.error(err.message);
        if (err.hint) reporter.notice(`hint: ${err.hint}`);
        return { code: err.exitCode, error: { message: err.message, hint: err.hint } };
      }
      reporter.error(`unexpected failure: ${errorMessage(err)}`);
      if (reporterOptions.verbose && err instanceof Error && err.stack) reporter.info(err.stack);
      return { code: ExitCode.failure, error: { message: `unexpected failure: ${errorMessage(err)}` } };
    }
  }
}
function progressInterval(text) {
  const n = Number(text);
  return text && Number.isInteger(n) && n > 0 ? n : void 0;
}
var outputGuarded = false;
function ignoreOutputErrors() {
  if (outputGuarded) return;
  outputGuarded = true;
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {
  });
}

// src/entries/cli.ts
process.exitCode = await main(process.argv.slice(2));
exitSoonIfCancelled();
